"""The suite's Markdown tables, its verdict on the targets, and its plot."""

from __future__ import annotations

from typing import Any

from ..files import atomic_write
from .machine import describe

BIG, SMALL = "784-128-10", "2-3-1"


def _get(results: dict[str, Any], size: str, key: str) -> float | None:
    return results["sizes"].get(size, {}).get(key)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the performance issues with this run's figure and whether it is met;
    ``simd`` says whether the figure depends on the instruction set: every timing of BLAS,
    numpy, Numba's vectorized loops or PyTorch does ("yes"); the demo's wall time is mostly
    compiling and Python ("little")."""
    g = lambda size, key: _get(results, size, key)
    rows: list[dict[str, Any]] = []

    def add(name, value, target, higher_is_better=True, unit="×", simd="yes"):
        met = None if value is None or target is None else (
            value >= target if higher_is_better else value <= target)
        rows.append({"target": name, "measured": value, "goal": target, "unit": unit,
                     "higher_is_better": higher_is_better, "met": met, "simd": simd})

    for size, b in ((BIG, 256), ("64-64-10", 256), (BIG, 32)):
        add(f"vectorized batch {b} vs PyTorch batch {b}, {size}",
            _ratio(g(size, f"torch_b{b}"), g(size, f"vectorized_b{b}")), 1.0)
    # the share of the matmul ceiling (bench.suite.ceiling_gflops), from the interleaved
    # rounds of bench.suite.step_share where the run has them; files written before have
    # only the 1024×1024 product, the first definition
    interleaved = results.get("step_share", {}).get(BIG, {})
    gflops = results.get("gflops", {}).get(BIG, {})
    ceiling = results.get("ceiling_gflops")
    share = {k: interleaved.get(k.split("_")[0]) if interleaved else
             (None if gflops.get(k) is None or ceiling is None else gflops[k] / ceiling)
             for k in ("vectorized_b256", "torch_b256")}
    torch_share = ("" if share["torch_b256"] is None
                   else f" (PyTorch: {share['torch_b256']:.0%})")
    add(f"vectorized batch 256, share of the matmul ceiling{torch_share}, {BIG}",
        share["vectorized_b256"], 0.85, unit="")
    add(f"what bounds it: the same step's GEMMs alone, share of the ceiling, {BIG}",
        interleaved.get("gemm"), None, unit="")
    first = interleaved.get("vectorized_1024") if interleaved else (
        None if gflops.get("vectorized_b256") is None
        else gflops["vectorized_b256"] / results["matmul_gflops"])
    add(f"vectorized batch 256, share of a 1024×1024 product (the first ceiling), {BIG}",
        first, None, unit="")
    add(f"per-example SGD / vectorized batch 256, {BIG}",
        _ratio(g(BIG, "scalar_epoch"), g(BIG, "vectorized_b256")), 1.25, False)
    comp = results.get("compile", {})
    if "demo_cold_total_s" in comp:
        add("`scalarprop demo` from an empty Numba cache", comp["demo_cold_total_s"], 10.0,
            False, "s", "little")
        add("`scalarprop demo`, warm", comp["demo_warm_total_s"], 3.0, False, "s", "little")
    for size, goal in ((BIG, 400), (SMALL, 30)):
        add(f"scalar (per epoch) vs pure-Python lists, {size}",
            _ratio(g(size, "python_lists"), g(size, "scalar_epoch")), goal)
    for size, goal in ((BIG, 8), (SMALL, 200)):
        add(f"scalar per-example SGD vs PyTorch per example, {size}",
            _ratio(g(size, "torch_b1"), g(size, "scalar_epoch")), goal)
    add(f"autodiff batch 256 / vectorized batch 256, {BIG}",
        _ratio(g(BIG, "autodiff_b256"), g(BIG, "vectorized_b256")), 1.3, False)
    return rows


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "—"
    us = t * 1e6
    if us >= 1e4:
        return f"{us / 1e3:,.0f} ms"
    if us >= 100:
        return f"{us:,.0f} µs"
    if us >= 1:
        return f"{us:.2f} µs"
    return f"{us * 1e3:.0f} ns"


def _fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "":
        return f"{v:.0%}"
    if unit == "s":
        return f"{v:.1f} s"
    if v < 10:
        return f"{v:.2f}×"
    return f"{v:,.1f}×" if v < 100 else f"{v:,.0f}×"


def _ceiling(results: dict[str, Any]) -> float:
    return results.get("ceiling_gflops", results["matmul_gflops"])


def _ceiling_text(results: dict[str, Any]) -> str:
    if "ceiling_gflops" not in results:
        return f"matmul ceiling (a 1024×1024 product) {results['matmul_gflops']:.1f} GFLOP/s"
    from .suite import COMPARABLE

    sides = ", ".join(map(str, COMPARABLE))
    return (f"matmul ceiling {results['ceiling_gflops']:.1f} GFLOP/s (the best square "
            f"product of side {sides}: sizes comparable to a step's GEMMs; a 1024×1024 one "
            f"{results['matmul_gflops']:.1f})")


def markdown(results: dict[str, Any]) -> str:
    labels = results["labels"]
    sizes = list(results["sizes"])
    lines = [f"Machine: {describe(results['machine'])}.", "",
             f"Time per example of one training step (forward + backward + update), float64, "
             f"median of repeats; BLAS threads: {results['threads']}; {_ceiling_text(results)}.",
             "", "| engine | " + " | ".join(sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for key, label in labels.items():
        cells = [_fmt_time(results["sizes"][s].get(key)) for s in sizes]
        if all(c == "—" for c in cells):
            continue
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Achieved GFLOP/s of the batched steps (share of the matmul ceiling):", "",
              "| engine | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for key in ("vectorized_b32", "vectorized_b256", "autodiff_b256", "torch_b32",
                "torch_b256", "scalar_parallel_b256"):
        cells = []
        for s in sizes:
            v = results["gflops"].get(s, {}).get(key)
            cells.append("—" if v is None else
                         f"{v:.1f} ({v / _ceiling(results):.0%})")
        if any(c != "—" for c in cells):
            lines.append(f"| {labels[key]} | " + " | ".join(cells) + " |")
    lines += ["", "Ratios (how many times faster):", "", "| ratio | " + " | ".join(sizes) + " |",
              "|---|" + "---:|" * len(sizes)]
    ratio_rows = [
        ("scalar epoch vs pure-Python lists", "python_lists", "scalar_epoch"),
        ("scalar epoch vs uncompiled kernels", "uncompiled", "scalar_epoch"),
        ("scalar epoch vs lecture kernel", "scalar_lecture", "scalar_epoch"),
        ("scalar epoch vs call per example", "scalar_call", "scalar_epoch"),
        ("scalar epoch vs vectorized batch 1", "vectorized_b1", "scalar_epoch"),
        ("scalar epoch vs PyTorch batch 1", "torch_b1", "scalar_epoch"),
        ("vectorized batch 256 vs scalar epoch", "scalar_epoch", "vectorized_b256"),
        ("vectorized batch 32 vs PyTorch batch 32", "torch_b32", "vectorized_b32"),
        ("vectorized batch 256 vs PyTorch batch 256", "torch_b256", "vectorized_b256"),
        ("prange vs serial scalar, batch 256", "scalar_b256", "scalar_parallel_b256"),
    ]
    for name, a, b in ratio_rows:
        cells = [_fmt_value(_ratio(results["sizes"][s].get(a), results["sizes"][s].get(b)), "×")
                 for s in sizes]
        if any(c != "—" for c in cells):
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Targets:", "", targets_table([results])]
    comp = results.get("compile", {})
    if comp:
        lines += ["", "Numba compile (import + first training call, fresh process): "
                  f"cold cache {comp['cold_s']:.2f} s, warm cache {comp['warm_s']:.2f} s."]
        if "demo_cold_compile_s" in comp:
            lines.append(f"`scalarprop demo` compiles for {comp['demo_cold_compile_s']:.1f} s "
                         f"of its first run ({comp['demo_cold_total_s']:.1f} s in all).")
    for note in results.get("notes", []):
        lines.append(f"\nNote: {note}")
    return "\n".join(lines)


def targets_table(runs: list[dict[str, Any]]) -> str:
    """The targets as a Markdown table with one "measured" column per run (headed by the
    run's instruction-set path), and whether each figure depends on the instruction set."""
    paths = [r["machine"].get("simd_path", "measured") for r in runs]
    lines = ["| target | " + " | ".join(paths) + " | goal | depends on SIMD |",
             "|---|" + "---:|" * len(runs) + "---:|:---:|"]
    rows = [targets(r) for r in runs]          # this code's targets, also for older files
    for i, t in enumerate(rows[0]):
        cells = []
        for r in rows:
            row = r[i]
            met = "" if row["met"] is None or row["met"] else " (**no**)"
            cells.append(_fmt_value(row["measured"], row["unit"]) + met)
        goal = "—" if t["goal"] is None else (
            ("≥ " if t["higher_is_better"] else "≤ ") + _fmt_value(t["goal"], t["unit"]))
        lines.append(f"| {t['target']} | " + " | ".join(cells) +
                     f" | {goal} | {t['simd']} |")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: str) -> str | None:
    """Time per example against hidden width (log-log, one line per engine) and the
    speedups over pure Python; returns the path, or None without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    widths = [int(w) for w in results["sweep"]]
    keys = [k for k in results["labels"] if any(k in v for v in results["sweep"].values())]
    colors = {k: f"C{i % 10}" for i, k in enumerate(results["labels"])}
    fig = Figure(figsize=(11, 4.5))
    ax1, ax2 = fig.subplots(1, 2)
    D, O = (64, 10)
    for key in keys:
        ws = [w for w in widths if key in results["sweep"][str(w)]]
        ax1.plot(ws, [results["sweep"][str(w)][key] * 1e6 for w in ws], marker="o",
                 markersize=3, label=results["labels"][key], color=colors[key])
    ax1.set(xscale="log", yscale="log", xlabel=f"hidden width ({D}-H-{O} network)",
            ylabel="µs per example (one SGD step)", title="time per example")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7)
    base = "scalar_epoch"
    for key in keys:
        if key == base:
            continue
        ws = [w for w in widths if key in results["sweep"][str(w)]]
        ax2.plot(ws, [results["sweep"][str(w)][key] / results["sweep"][str(w)][base]
                      for w in ws], marker="o", markersize=3, label=results["labels"][key],
                 color=colors[key])
    ax2.axhline(1.0, color="k", lw=0.8)
    ax2.set(xscale="log", yscale="log", xlabel="hidden width",
            ylabel="time / scalar (Numba, per epoch)",
            title="relative to the scalar engine (>1: slower)")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    with atomic_write(path) as fh:
        fig.savefig(fh, format="png", dpi=90)
    return path

