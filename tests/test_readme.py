"""Every code example of the README runs as written: each ```python block (in order, in one
namespace, as a reader runs them one after another) and each `scalarprop ...` command of the
```bash/```sh/```console blocks, in a fresh directory, exiting 0."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: commands that are not run here, and why
NOT_RUN = {
    "pip": "installs the package: the test environment has it",
    "pytest": "the suite itself",
    "lint-imports": "run by the test command before pytest",
    "scalarprop bench": "the full benchmark takes minutes; tests/test_bench.py runs it small",
}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``[(language, code)]`` for every fenced block of a Markdown text, in order."""
    return [(m.group(1), m.group(2))
            for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)]


def commands(code: str, language: str) -> list[list[str]]:
    """The command lines of a shell block as argument lists: backslash continuations joined,
    comments dropped, ``$ `` prompts of console blocks removed (console output skipped)."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        if language == "console":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        for part in line.split("&&"):
            args = shlex.split(part, comments=True)
            if args:
                out.append(args)
    return out


def skipped(args: list[str]) -> str | None:
    text = " ".join(args)
    return next((why for start, why in NOT_RUN.items() if text.startswith(start)), None)


def write_your_own_data(folder: Path) -> None:
    """The README's `--data mydata.csv` stands for the reader's own file: one small one."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    rows = np.column_stack([X, (X[:, 0] > 0).astype(int)])
    np.savetxt(folder / "mydata.csv", rows, delimiter=",", fmt="%.6g")


def test_the_parser_reads_blocks_continuations_comments_and_prompts():
    text = ("intro\n```bash\nscalarprop a --x 1 \\\n    --y 2   # note\npip install . && "
            "scalarprop b\n```\n```console\n$ scalarprop c\noutput line\n```\n"
            "```python\nprint(1)\n```\n")
    blocks = fenced_blocks(text)
    assert [lang for lang, _ in blocks] == ["bash", "console", "python"]
    assert commands(blocks[0][1], "bash") == [["scalarprop", "a", "--x", "1", "--y", "2"],
                                              ["pip", "install", "."], ["scalarprop", "b"]]
    assert commands(blocks[1][1], "console") == [["scalarprop", "c"]]
    assert skipped(["pip", "install", "."]) and not skipped(["scalarprop", "b"])


def run_python_blocks(text: str) -> int:
    """Run every python block of ``text`` in the current directory, in one namespace;
    an AssertionError names the first one that fails. Returns how many ran."""
    namespace: dict = {"__name__": "readme"}
    blocks = [code for language, code in fenced_blocks(text) if language == "python"]
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"README python block {i + 1} failed:\n{code}") from exc
    return len(blocks)


def run_commands(text: str, folder: Path) -> int:
    """Run every ``scalarprop`` command of ``text``'s shell blocks in ``folder``; an
    AssertionError names the first that does not exit 0. Returns how many ran."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT) + os.pathsep +
               os.environ.get("PYTHONPATH", ""))
    ran = 0
    for language, code in fenced_blocks(text):
        if language not in ("bash", "sh", "console"):
            continue
        for args in commands(code, language):
            if skipped(args):
                continue
            assert args[0] == "scalarprop", f"README command not covered by this test: {args}"
            result = subprocess.run([sys.executable, "-m", "scalarprop.cli", *args[1:]],
                                    cwd=folder, env=env, capture_output=True, text=True,
                                    timeout=120)
            assert result.returncode == 0, (
                f"{shlex.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
            ran += 1
    return ran


def test_every_python_block_runs_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert run_python_blocks(README.read_text(encoding="utf-8")) >= 5


def test_every_scalarprop_command_runs(tmp_path):
    write_your_own_data(tmp_path)
    assert run_commands(README.read_text(encoding="utf-8"), tmp_path) >= 8


def test_a_failing_block_or_command_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError, match="python block 2 failed"):
        run_python_blocks("```python\nx = 1\n```\n```python\nx = y\n```\n")
    with pytest.raises(AssertionError, match="scalarprop draw --model missing.npz exited 2"):
        run_commands("```bash\nscalarprop draw --model missing.npz\n```\n", tmp_path)
    with pytest.raises(AssertionError, match="not covered"):
        run_commands("```bash\nrm -rf data\n```\n", tmp_path)


def test_the_overview_table_lists_every_module():
    text = README.read_text(encoding="utf-8")
    overview = text[text.index("<!-- section:overview -->"):
                    text.index("<!-- /section:overview -->")]
    package = ROOT / "scalarprop"
    missing = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        # a module is listed by its path, or by a row for the folder that holds it
        folders = [f"`{'/'.join(relative.parts[:i])}/`" for i in range(1, len(relative.parts))]
        if f"`{relative.as_posix()}`" not in overview and path.name != "__init__.py" and \
                not any(f in overview for f in folders):
            missing.append(relative.as_posix())
    assert not missing, f"modules the README's overview table does not list: {missing}"


@pytest.mark.parametrize("file", [".ci/run"])
def test_ci_runs_exactly_the_readme_test_command(file):
    test_command = next(line.split("#")[0].strip() for _, code in
                        fenced_blocks(README.read_text(encoding="utf-8"))
                        for line in code.splitlines() if "pytest" in line and "pip" in line)
    ci_lines = [line.strip() for line in (ROOT / file).read_text().splitlines()]
    assert test_command in ci_lines
