"""The autodiff engine against the vectorized engine (its fast epoch, the engine's own, and
its readable one), and the autodiff engine's fast backward walk against the plain walk of
slide 104: one epoch of minibatch gradient descent on 784-128-10 (sigmoid,
softmax, ce), batch 256, timed side by side in one process, medians of interleaved repeats.

Run it with BLAS on one thread, on an otherwise idle machine:

    OPENBLAS_NUM_THREADS=1 python benchmarks/autodiff_walks.py [out.json]

It prints the times and ratios and writes them (with the machine's CPU and BLAS) to
``out.json`` (default ``benchmarks/autodiff_walks.json``).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from scalarprop import MLP
from scalarprop.engines import get_engine, vectorized
from scalarprop.engines.autodiff import AutodiffMLP, TensorNode
from scalarprop.validate import check_batch

SIZES, BATCH, N, REPEATS, LR = (784, 128, 10), 256, 4096, 15, 0.001


def plain_walk_epoch(net, X, T, order, batch_size, lr, step_loss):
    """The autodiff engine's epoch with the plain walk (graph.backward) instead of the
    buffer-reusing one."""
    for s in range(len(order) // batch_size):
        idx = order[s * batch_size:(s + 1) * batch_size]
        model = AutodiffMLP(net)
        l = model.loss(TensorNode(X[idx], requires_grad=False), T[idx])
        l.backward()
        step_loss[s] = float(l.value)
        net.params -= lr * model.flat_grad()
    return -1


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = Path("/proc/cpuinfo").read_text()
                return line.split(":", 1)[1].strip() + (" (AVX-512)" if "avx512f" in flags
                                                        else "")
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_suffix(".json")
    rng = np.random.default_rng(0)
    net = MLP(SIZES, "sigmoid", "softmax", "ce", seed=0)
    X, T = check_batch(net, rng.random((N, SIZES[0])), rng.integers(0, SIZES[-1], N))
    order = np.arange(N)
    runs = {"vectorized": get_engine("vectorized").train_epoch,
            "vectorized, readable epoch": vectorized.lecture_epoch,
            "autodiff": get_engine("autodiff").train_epoch,
            "autodiff, plain walk": plain_walk_epoch}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(REPEATS + 1):
        for name, epoch in runs.items():
            work, step_loss = net.copy(), np.empty(N // BATCH)
            t0 = time.perf_counter()
            epoch(work, X, T, order, BATCH, LR, step_loss)
            if r > 0:                       # the first round warms up
                times[name].append((time.perf_counter() - t0) / N)
    median = {k: float(np.median(v)) for k, v in times.items()}
    try:
        from threadpoolctl import threadpool_info
        blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads"))
                for i in threadpool_info()]
    except ImportError:
        blas = []
    result = {
        "network": list(SIZES), "batch": BATCH, "examples": N, "repeats": REPEATS,
        "cpu": cpu(), "blas": blas,
        "seconds_per_example": median,
        "autodiff / vectorized": median["autodiff"] / median["vectorized"],
        "autodiff / vectorized readable epoch":
            median["autodiff"] / median["vectorized, readable epoch"],
        "plain walk / fast walk": median["autodiff, plain walk"] / median["autodiff"],
    }
    for k, v in median.items():
        print(f"{k:<28} {v * 1e9:8.0f} ns per example")
    for k in ("autodiff / vectorized", "autodiff / vectorized readable epoch",
              "plain walk / fast walk"):
        print(f"{k:<38} {result[k]:.3f}x")
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
