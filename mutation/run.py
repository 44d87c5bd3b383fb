"""Mutation testing of the kernels and the checkers with cosmic-ray (docs/mutation-testing.md).

cosmic-ray rewrites one spot of a source file on disk, runs the tests, and puts the file back;
it mutates every function, the ``@njit`` kernels too. The kernels run uncompiled
(``NUMBA_DISABLE_JIT=1``), so a mutant costs no compile. Each module gets the tests that reach
it (measured with coverage), fastest first, and pytest stops at the first failure (``-x``).

Run it in a checkout of its own (it edits ``scalarprop/`` while it runs)::

    python mutation/run.py init [--sample F]     # one session per module, in mutation/sessions/
    python mutation/run.py exec --minutes 14     # the pending mutants, for at most 14 minutes
    python mutation/run.py report [--survivors]  # per module and group; every survivor
    python mutation/run.py retry                 # the survivors again, after new tests
    python mutation/run.py thin --keep F         # run only a fraction F of the pending
    python mutation/run.py widen [--keep F]      # a fraction F of those not sampled, pending again
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = ROOT / "mutation" / "sessions"

SCALAR = ["test_lecture_numbers", "test_overflow_uncompiled", "test_scalar_fast", "test_engines"]
FAST = ["test_scalar_fast_widths", "test_scalar_blocked", "test_scalar_fast"]
VECTORIZED = ["test_lecture_numbers", "test_testing_network", "test_vectorized_fast",
              "test_engines"]
GRADCHECK = ["test_checks_say_no", "test_reports", "test_testing", "test_testing_network",
             "test_fd_rates", "test_validation", "test_testing_beyond"]
COMPARISON = ["test_compare_engines_says_no", "test_reports", "test_lecture_numbers"]
TESTING = ["test_testing", "test_checks_say_no", "test_reports", "test_testing_beyond",
           "test_testing_network"]
AUTODIFF = ["test_autodiff_ops", "test_autodiff_walks", "test_autodiff_graph",
            "test_autodiff_engine"]

#: file group -> module (under scalarprop/) -> the test files that reach it
GROUPS: dict[str, dict[str, list[str]]] = {
    "kernels": {"engines/scalar.py": SCALAR, "engines/scalar_fast.py": FAST,
                "engines/vectorized.py": VECTORIZED},
    "checkers": {"checks/gradcheck.py": GRADCHECK, "checks/comparison.py": COMPARISON},
    "testing": {f"checks/testing/{name}.py": TESTING + extra for name, extra in (
        ("arguments", []), ("asserts", []), ("complex_step", []),
        ("differences", ["test_fd_rates"]), ("directional", []), ("evaluator", []),
        ("report", []), ("second_order", []), ("strategies", ["test_hypothesis"]))},
    "autodiff": {**{f"engines/autodiff/{name}.py": AUTODIFF for name in (
        "arithmetic", "elementwise", "reductions", "losses", "softmax")},
        "engines/autodiff/fused.py": ["test_autodiff_fused", "test_autodiff_engine",
                                      "test_autodiff_walks"]},
}

# one mutation per operator, as mutmut makes them: + to -, * to /, < to <=, == to !=, a number
# +1 and -1, a condition negated, a loop run zero times, True to False, and to or, ...; not the
# bit operators (a float refuses them at once), not the removal of a decorator (@njit is a
# no-op uncompiled), not cosmic-ray's variable swaps
KEPT = ("ReplaceBinaryOperator_(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Div|Mod_FloorDiv|Pow_Mul)"
        "|ReplaceComparisonOperator_(Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Eq_NotEq|NotEq_Eq|Is_IsNot"
        "|IsNot_Is)|ReplaceUnaryOperator_Delete_(USub|Not)|AddNot|ReplaceTrueWithFalse"
        "|ReplaceFalseWithTrue|ReplaceAndWithOr|ReplaceOrWithAnd|ReplaceBreakWithContinue"
        "|ReplaceContinueWithBreak|NumberReplacer|ZeroIterationForLoop|ExceptionReplacer")

PYTEST = f"{sys.executable} -m pytest -x -q -p no:cacheprovider -o addopts="
CONFIG = """[cosmic-ray]
module-path = "scalarprop/{module}"
timeout = {timeout}
excluded-modules = []
test-command = "env NUMBA_DISABLE_JIT=1 PYTHONPATH={root} {pytest} {tests}"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = ['core/(?!({kept})$)']
"""


def stem(module: str) -> str:
    return module.replace("/", ".").removesuffix(".py")


def modules(group: str | None, only: str | None = None) -> list[tuple[str, str, list[str]]]:
    return [(g, m, tests) for g, mods in GROUPS.items() if group in (None, g)
            for m, tests in mods.items() if only is None or only in m]


def write_config(group: str, module: str, tests: list[str], timeout: float) -> Path:
    """The session's configuration; the group's tests/test_mutants_<group>.py run first."""
    first = [f"test_mutants_{group}"] if (ROOT / f"tests/test_mutants_{group}.py").exists() else []
    config = SESSIONS / f"{stem(module)}.toml"
    config.write_text(CONFIG.format(module=module, timeout=timeout, root=ROOT, pytest=PYTEST,
                                    kept=KEPT,
                                    tests=" ".join(f"tests/{t}.py" for t in first + tests)))
    return config


def init(args: argparse.Namespace) -> None:
    SESSIONS.mkdir(parents=True, exist_ok=True)
    for group, module, tests in modules(args.group, args.only):
        config = write_config(group, module, tests, args.timeout)
        db = SESSIONS / f"{stem(module)}.sqlite"
        db.unlink(missing_ok=True)
        subprocess.run(["cosmic-ray", "init", str(config), str(db)], check=True, cwd=ROOT)
        subprocess.run(["cr-filter-operators", str(db), str(config)], check=True, cwd=ROOT)
        skip_decorators(db, ROOT / "scalarprop" / module)
        if args.sample < 1.0:
            sample(db, args.sample, args.seed)


def skip_decorators(db: Path, source: Path) -> None:
    """Mark skipped the mutants of a decorator's arguments: ``@njit(cache=True, nogil=True,
    parallel=True)`` choose how Numba compiles, and uncompiled they change nothing."""
    lines = source.read_text().splitlines()
    con = sqlite3.connect(db)
    rows = con.execute(
        "select m.job_id, m.start_pos_row from mutation_specs m left join work_results r "
        "on m.job_id = r.job_id where r.job_id is null").fetchall()
    con.executemany("insert into work_results (worker_outcome, output, test_outcome, diff, job_id)"
                    " values ('SKIPPED', 'decorator argument', NULL, NULL, ?)",
                    [(job,) for job, row in rows if lines[row - 1].lstrip().startswith("@")])
    con.commit()


def sample(db: Path, fraction: float, seed: int) -> None:
    """Keep a seeded random ``fraction`` of the pending mutants; mark the rest skipped."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "select m.job_id, m.start_pos_row, m.start_pos_col, m.operator_name, m.occurrence "
        "from mutation_specs m left join work_results r on m.job_id = r.job_id "
        "where r.job_id is null").fetchall()
    rows.sort(key=lambda r: r[1:])      # job ids are random: order by place and operator
    keep = set(random.Random(seed).sample(range(len(rows)), round(fraction * len(rows))))
    con.executemany("insert into work_results (worker_outcome, output, test_outcome, diff, job_id)"
                    " values ('SKIPPED', 'not in the sample', NULL, NULL, ?)",
                    [(r[0],) for i, r in enumerate(rows) if i not in keep])
    con.commit()


def retry(args: argparse.Namespace) -> None:
    """The survivors again, against the tests as they are now (new tests kill some)."""
    for group, module, tests in modules(args.group, args.only):
        write_config(group, module, tests, args.timeout)
        con = sqlite3.connect(SESSIONS / f"{stem(module)}.sqlite")
        con.execute("delete from work_results where test_outcome = 'SURVIVED'")
        con.commit()
        skip_decorators(SESSIONS / f"{stem(module)}.sqlite", ROOT / "scalarprop" / module)


def thin(args: argparse.Namespace) -> None:
    """Keep a seeded ``--keep`` fraction of the pending mutants (the rest: not in the
    sample), when the time left does not cover them all."""
    for _, module, _ in modules(args.group, args.only):
        sample(SESSIONS / f"{stem(module)}.sqlite", args.keep, args.seed)


def widen(args: argparse.Namespace) -> None:
    """Put a seeded ``--keep`` fraction of the mutants left out of the sample back in line,
    when there is time for more of them."""
    for group, module, tests in modules(args.group, args.only):
        write_config(group, module, tests, args.timeout)
        db = SESSIONS / f"{stem(module)}.sqlite"
        if pending(db):
            sys.exit(f"{module}: run or thin its pending mutants first")
        con = sqlite3.connect(db)
        con.execute("delete from work_results where output = 'not in the sample'")
        con.commit()
        if args.keep < 1.0:
            sample(db, args.keep, args.seed)


def pending(db: Path) -> int:
    con = sqlite3.connect(db)
    return con.execute("select count(*) from work_items w left join work_results r "
                       "on w.job_id = r.job_id where r.job_id is null").fetchone()[0]


def execute(args: argparse.Namespace) -> None:
    """Run pending mutants until ``--minutes`` are spent. A session cut short is stopped with
    SIGINT, which cosmic-ray answers by putting the mutated file back."""
    end = time.monotonic() + 60 * args.minutes
    for _, module, _ in modules(args.group, args.only):
        db = SESSIONS / f"{stem(module)}.sqlite"
        left = end - time.monotonic()
        if pending(db) == 0:
            continue
        if left < 30:
            break
        before, start = pending(db), time.monotonic()
        done = subprocess.run(["timeout", "-s", "INT", str(int(left)), "cosmic-ray", "exec",
                               str(SESSIONS / f"{stem(module)}.toml"), str(db)], cwd=ROOT)
        ran, seconds = before - pending(db), time.monotonic() - start
        print(f"{module}: {ran} mutants in {seconds:.0f} s ({seconds / max(ran, 1):.1f} s "
              f"each), {pending(db)} left", flush=True)
        if done.returncode != 0:        # out of time, or interrupted
            break
    dirty = subprocess.run(["git", "status", "--porcelain", "scalarprop"], cwd=ROOT,
                           capture_output=True, text=True).stdout
    if dirty:
        sys.exit(f"scalarprop/ was left changed (restore it with git checkout):\n{dirty}")


def results(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    return con.execute(
        "select m.start_pos_row, m.operator_name, r.worker_outcome, r.test_outcome, r.diff, "
        "r.output from mutation_specs m join work_results r on m.job_id = r.job_id").fetchall()


COLUMNS = ("mutants", "decorator", "not sampled", "run", "killed", "survived", "score", "left")


def counts(db: Path) -> list[int]:
    """Mutants of the kept operators, of decorator arguments, left out of the sample, run,
    killed, survived; and still pending."""
    everything = results(db)
    run = [r for r in everything if r[2] == "NORMAL"]
    skipped = [r[5] for r in everything if r[2] == "SKIPPED"]
    killed = sum(r[3] == "KILLED" for r in run)
    decorators, unsampled = skipped.count("decorator argument"), skipped.count("not in the sample")
    left = pending(db)
    return [len(run) + decorators + unsampled + left, decorators, unsampled, len(run), killed,
            len(run) - killed, left]


def row(name: str, c: list[int]) -> str:
    score = f"{100 * c[4] / c[3]:.1f}%" if c[3] else "-"
    return "| " + " | ".join([name] + [f"{v:,}" for v in c[:6]] + [score, f"{c[6]:,}"]) + " |"


def report(args: argparse.Namespace) -> None:
    """A Markdown table per module, per group and overall; ``--survivors`` lists them."""
    print("| module | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    groups: dict[str, list[int]] = {}
    survivors = []
    for group, module, _ in modules(args.group):
        db = SESSIONS / f"{stem(module)}.sqlite"
        c = counts(db)
        groups[group] = [a + b for a, b in zip(groups.get(group, [0] * 7), c)]
        print(row(module, c))
        for line, op, outcome, test, diff, _ in sorted(results(db)):
            if outcome == "NORMAL" and test != "KILLED":
                # the line from the diff: the file may have changed since the session began
                hunk = re.search(r"^@@ -(\d+)", diff, re.M)
                line = int(hunk.group(1)) + next(
                    k for k, d in enumerate(diff.splitlines()[4:]) if d[:1] == "-") if hunk \
                    else line
                changed = [d[1:].strip() for d in diff.splitlines()
                           if d[:1] in "+-" and d[:3] not in ("---", "+++")]
                survivors.append(f"{module}:{line} {op.removeprefix('core/')}: "
                                 + " => ".join(changed))
    for group, c in groups.items():
        print(row(f"**{group}**", c))
    print(row("**all**", [sum(c[i] for c in groups.values()) for i in range(7)]))
    if args.survivors:
        print("\n".join(["", *survivors]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True)
    p = sub.add_parser("init")
    p.add_argument("--sample", type=float, default=1.0, help="fraction of mutants to run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", help="the modules whose path contains this")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    p.set_defaults(run=init)
    p = sub.add_parser("retry")
    p.add_argument("--only", help="the modules whose path contains this")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    p.set_defaults(run=retry)
    p = sub.add_parser("thin")
    p.add_argument("--keep", type=float, required=True, help="fraction of the pending to run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", help="the modules whose path contains this")
    p.set_defaults(run=thin)
    p = sub.add_parser("widen")
    p.add_argument("--keep", type=float, default=1.0, help="fraction of those not sampled")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    p.add_argument("--only", help="the modules whose path contains this")
    p.set_defaults(run=widen)
    p = sub.add_parser("exec")
    p.add_argument("--minutes", type=float, default=14.0)
    p.add_argument("--only", help="the modules whose path contains this")
    p.set_defaults(run=execute)
    p = sub.add_parser("report")
    p.add_argument("--survivors", action="store_true")
    p.set_defaults(run=report)
    for p in sub.choices.values():
        p.add_argument("--group", choices=list(GROUPS))
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
