"""A hyperparameter sweep on two cores: two networks trained in two threads against the same
two trained one after the other, in one process, interleaved, medians of repeats.

The scalar engine's kernels release the GIL (``nogil=True``), so while one thread is inside a
kernel the other can run its own. Each run: per-example SGD (the fused kernel) on the course's
synthetic data with a 2-1024-2 sigmoid/softmax network (an epoch of about a tenth of a
second); the two networks differ in their learning rate, as in a sweep. The threaded results
are checked equal, bit for bit, to the sequential ones. The two ways alternate which goes
first in each repeat.

Run it with BLAS on one thread, on an otherwise idle machine:

    OPENBLAS_NUM_THREADS=1 python benchmarks/threads.py [out.json]

It prints the times and the ratio and writes them (with the machine's CPU) to ``out.json``
(default ``benchmarks/threads.json``).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

from scalarprop import MLP, load_synth, train

SIZES, N, EPOCHS, REPEATS, LRS = (2, 1024, 2), 10_000, 3, 7, (0.01, 0.03)


def cpu() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip() + (" (AVX-512)" if "avx512f" in text else "")
    return platform.processor()


def sweep(X, T, threaded: bool) -> tuple[float, list[np.ndarray]]:
    """Train one network per learning rate; seconds and the parameters reached."""
    nets = [MLP(SIZES, "sigmoid", "softmax", "ce", seed=0) for _ in LRS]
    jobs = [dict(epochs=EPOCHS, lr=lr, progress=False) for lr in LRS]
    t0 = time.perf_counter()
    if threaded:
        threads = [threading.Thread(target=train, args=(net, X, T), kwargs=kw)
                   for net, kw in zip(nets, jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for net, kw in zip(nets, jobs):
            train(net, X, T, **kw)
    return time.perf_counter() - t0, [net.params.copy() for net in nets]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_suffix(".json")
    (X, T), _, _ = load_synth(num_train=N, num_val=0)
    sweep(X[:10], T[:10], threaded=False)                    # compile outside the clock
    times: dict[str, list[float]] = {"one after the other": [], "two threads": []}
    for r in range(REPEATS):
        if r % 2:
            par, p_par = sweep(X, T, threaded=True)
            seq, p_seq = sweep(X, T, threaded=False)
        else:
            seq, p_seq = sweep(X, T, threaded=False)
            par, p_par = sweep(X, T, threaded=True)
        assert all(np.array_equal(a, b) for a, b in zip(p_seq, p_par)), "results differ"
        times["one after the other"].append(seq)
        times["two threads"].append(par)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "network": list(SIZES), "examples": N, "epochs": EPOCHS, "learning_rates": list(LRS),
        "engine": "scalar", "batch_size": 1, "repeats": REPEATS, "cpu": cpu(),
        "cores": os.cpu_count(), "seconds_median": med, "seconds_all": times,
        "speedup (one after the other / two threads)":
            med["one after the other"] / med["two threads"],
        "same parameters": True,
    }
    for k, v in med.items():
        print(f"{k:>20}: {v:.3f} s")
    print(f"speedup: {result['speedup (one after the other / two threads)']:.2f}x "
          f"({result['cpu']}, {result['cores']} cores)")
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
