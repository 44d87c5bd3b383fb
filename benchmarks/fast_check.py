"""What ``fast=True`` saves: the directional gradient check against the full one on 784-128-10.

``python benchmarks/fast_check.py [--out benchmarks/fast_check.json]``

A 784-128-10 sigmoid/softmax/cross-entropy network (101,770 parameters) and 4 examples; the
vectorized engine's gradient is checked by ``check_gradients`` in full (every parameter) and
with ``fast=True`` (4 random directions), correct and with one weight of W0 off by 1% of the
gradient's largest entry (the fast check must name it). Reported: wall time and the number of
loss evaluations of each, and their ratios (one run, side by side). Run under the CPU lock
with BLAS on one thread.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from scalarprop import MLP, check_gradients, vectorized
from scalarprop.bench.machine import cpu_summary


@contextlib.contextmanager
def counted():
    """Count the vectorized engine's loss evaluations."""
    real = vectorized.loss
    calls = [0]

    def loss(net, X, T):
        calls[0] += 1
        return real(net, X, T)

    vectorized.loss = loss
    try:
        yield calls
    finally:
        vectorized.loss = real


@contextlib.contextmanager
def defective(name: str):
    """The vectorized engine's gradient with parameter ``name`` off by 1% of the largest."""
    real = vectorized.loss_and_grad

    def loss_and_grad(net, X, T):
        loss, grad = real(net, X, T)
        grad[net.param_index(name)] += 0.01 * np.abs(grad).max()
        return loss, grad

    vectorized.loss_and_grad = loss_and_grad
    try:
        yield
    finally:
        vectorized.loss_and_grad = real


def timed(net, X, T, **kwargs):
    with counted() as calls:
        start = time.perf_counter()
        result = check_gradients(net, X, T, engine="vectorized", **kwargs)
        seconds = time.perf_counter() - start
    return result, seconds, calls[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    parser.add_argument("--examples", type=int, default=4)
    args = parser.parse_args(argv)
    net = MLP([784, 128, 10], "sigmoid", "softmax", "ce", seed=0)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(args.examples, 784))
    T = rng.integers(0, 10, size=args.examples)
    bad = "W0[17,300]"
    fast, fast_s, fast_n = timed(net, X, T, fast=True)
    with defective(bad):
        fast_bad, fast_bad_s, fast_bad_n = timed(net, X, T, fast=True)
    full, full_s, full_n = timed(net, X, T)
    result = {
        "network": "784-128-10 sigmoid/softmax/ce", "parameters": net.num_params,
        "examples": args.examples, "engine": "vectorized", "directions": 4,
        "full": {"seconds": round(full_s, 2), "evaluations": full_n, "ok": full.ok},
        "fast": {"seconds": round(fast_s, 3), "evaluations": fast_n, "ok": fast.ok},
        "fast_with_defect": {"seconds": round(fast_bad_s, 3), "evaluations": fast_bad_n,
                             "ok": fast_bad.ok, "defect": bad,
                             "named": fast_bad.failures, "blocks": [b.where for b in
                                                                    fast_bad.blocks]},
        "time_ratio_full_over_fast": round(full_s / fast_s, 1),
        "evaluation_ratio_full_over_fast": round(full_n / fast_n, 1),
        "machine": {"python": sys.version.split()[0], "numpy": np.__version__,
                    "platform": platform.platform(), "cpu": cpu_summary(),
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
