"""Run the suite: every engine on every size and on the width sweep; JSON, table, plot."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from ..files import check_writable, write_text
from ..progress import progress_bar
from . import suite as S
from .machine import machine
from .report import markdown, plot, targets

#: the engines, in the order the table lists them: key -> label
ENGINES = {
    "python_lists": "pure Python, lecture loops over lists",
    "uncompiled": "scalar kernels uncompiled (py_func)",
    "scalar_call": "scalar (Numba), one call per example",
    "scalar_epoch": "scalar (Numba), one call per epoch",
    "scalar_lecture": "scalar lecture kernel, one call per epoch",
    "scalar_b256": "scalar kernel, batch 256, serial",
    "scalar_parallel_b256": "scalar kernel, batch 256, prange",
    "vectorized_b1": "vectorized (numpy), batch 1",
    "vectorized_b32": "vectorized (numpy), batch 32",
    "vectorized_b256": "vectorized (numpy), batch 256",
    "autodiff_b256": "autodiff, batch 256",
    "torch_b1": "PyTorch CPU autograd, batch 1",
    "torch_b32": "PyTorch CPU autograd, batch 32",
    "torch_b256": "PyTorch CPU autograd, batch 256",
}
BATCHED = {"vectorized_b32": 32, "vectorized_b256": 256, "autodiff_b256": 256,
           "torch_b32": 32, "torch_b256": 256, "scalar_b256": 256, "scalar_parallel_b256": 256}


def measure_size(sizes: tuple[int, ...], quick: bool, have_torch: bool, tick,
                 engines: tuple[str, ...] = tuple(ENGINES)) -> dict[str, float]:
    """Seconds per example for each engine on one network size."""
    rep = 3 if quick else 5
    scale = 0.25 if quick else 1.0
    net = S.make_net(sizes)
    n_py = S.examples_for(sizes, 0.15 * scale, 1.5e-8, 3, 3000)
    n_fast = S.examples_for(sizes, 0.05 * scale, 1e-10, 1024 if quick else 2048, 50_000)
    n_b1 = 512 if quick else 2048
    n_mb = 2048 if sizes[0] < 700 or not quick else 1024
    X, T = S.make_data(net, max(n_fast, n_b1, n_mb, n_py))
    out: dict[str, float] = {}

    def run(key, fn):
        if key in engines:
            value = fn()
            if value is not None:
                out[key] = value
        tick()

    run("python_lists", lambda: S.time_python_lists(net, X, T, n_py, rep))
    run("scalar_call", lambda: S.time_scalar(net, X, T, n_b1, rep, "call"))
    run("scalar_epoch", lambda: S.time_scalar(net, X, T, n_fast, rep, "epoch"))
    run("scalar_lecture", lambda: S.time_scalar(net, X, T, min(n_fast, 4096), rep,
                                                "lecture"))
    run("scalar_b256", lambda: S.time_minibatch_scalar(net, X, T, 256, rep * 3, False))
    run("scalar_parallel_b256", lambda: S.time_minibatch_scalar(net, X, T, 256, rep * 3,
                                                                True))
    run("vectorized_b1", lambda: S.time_vectorized(net, X, T, n_b1, 1, rep))
    run("vectorized_b32", lambda: S.time_vectorized(net, X, T, n_mb, 32, rep))
    run("vectorized_b256", lambda: S.time_vectorized(net, X, T, n_mb, 256, rep))
    run("autodiff_b256", lambda: S.time_autodiff(net, X, T, n_mb, 256, rep))
    for b, key in ((1, "torch_b1"), (32, "torch_b32"), (256, "torch_b256")):
        if have_torch:
            run(key, lambda b=b: S.time_torch(net, X, T, n_b1 if b == 1 else n_mb, b, rep))
        else:
            tick()
    return out


def run_suite(quick: bool = False, threads: int = 1, out_dir: str = "bench-results",
              progress: bool | None = None, demo_times: bool | None = None) -> dict[str, Any]:
    """Measure everything, write ``bench.json``, ``bench.md`` and ``bench.png`` to
    ``out_dir``, and return the results."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads={threads!r}: expected a positive integer")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"out_dir={out_dir!r}: cannot make the directory "
                         f"({exc.strerror or exc})") from None
    # a run takes minutes: a place it cannot write is refused before, not after
    check_writable(os.path.join(out_dir, "bench.json"), "out_dir", ".json")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise ValueError("the benchmark needs threadpoolctl to pin BLAS threads: "
                         "pip install 'scalarprop[bench]'") from None
    have_torch = S.torch_available()
    if have_torch:
        import torch

        torch.set_num_threads(threads)
    widths = S.QUICK_WIDTHS if quick else S.SWEEP_WIDTHS
    if demo_times is None:
        demo_times = not quick
    progress = sys.stderr.isatty() if progress is None else progress
    sweep_keys = ("python_lists", "scalar_call", "scalar_epoch", "vectorized_b1",
                  "vectorized_b32", "vectorized_b256", "torch_b1", "torch_b256")
    n_ticks = 14 * len(S.SIZES) + 14 * len(widths) + 3
    t_start = time.perf_counter()
    results: dict[str, Any] = {"quick": quick, "threads": threads, "labels": ENGINES,
                               "machine": machine(), "sizes": {}, "sweep": {}}
    with threadpool_limits(threads), \
            progress_bar(n_ticks, "benchmarking", "figure", show=progress) as bar:
        tick = bar.update
        results["ceiling_gflops"] = S.ceiling_gflops(3 if quick else 7)
        results["matmul_gflops"] = S.matmul_gflops(3 if quick else 7)    # 1024×1024
        results["step_share"] = {"784-128-10": S.step_share(
            (784, 128, 10), 256, 2048, 3 if quick else 9, have_torch)}
        tick()
        for sizes in S.SIZES:
            results["sizes"]["-".join(map(str, sizes))] = measure_size(sizes, quick,
                                                                       have_torch, tick)
        unc = S.uncompiled_times([list(s) for s in S.SIZES], 3 if quick else 10)
        for key, value in unc.items():
            results["sizes"][key]["uncompiled"] = value
        tick()
        D, O = S.SWEEP_IO
        for H in widths:
            keys = tuple(k for k in sweep_keys if k != "python_lists" or H <= (16 if quick
                                                                                else 256))
            results["sweep"][str(H)] = measure_size((D, H, O), quick, have_torch, tick,
                                                    engines=keys)
        results["compile"] = S.compile_times()
        tick()
        if demo_times:
            results["compile"].update(S.demo_start_times())
    results["gflops"] = {
        size: {k: S.step_flops(tuple(int(v) for v in size.split("-")), BATCHED[k]) / t / 1e9
               for k, t in figures.items() if k in BATCHED}
        for size, figures in results["sizes"].items()}
    results["targets"] = targets(results)
    results["elapsed_s"] = time.perf_counter() - t_start
    if not have_torch:
        results["notes"] = ["torch is not installed: PyTorch rows skipped "
                            "(pip install torch==2.13.0, or the 'bench' extra)"]
    write_text(os.path.join(out_dir, "bench.json"), json.dumps(results, indent=1))
    table = markdown(results)
    write_text(os.path.join(out_dir, "bench.md"), table + "\n")
    results["plot"] = plot(results, os.path.join(out_dir, "bench.png"))
    results["table"] = table
    return results
