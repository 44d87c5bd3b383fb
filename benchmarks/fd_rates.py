"""How often does the gradient check cry wolf, and how often does it miss a wrong gradient?

``python benchmarks/fd_rates.py [--networks 1200] [--out benchmarks/fd_rates.json]``

Over random networks (every hidden activation with every output/loss pair, 1-3 hidden
layers, widths 1-6, 1-5 examples, weights and biases drawn N(0, s²) with s log-uniform in
[0.01, 3]) the vectorized engine's gradient is checked by ``check_gradients``:

* as it is (correct): a failure is a **false alarm**;
* with one seeded defect, each checked separately: a **miss** is a pass.
  - ``zeroed_block``: one layer's W or b gradient set to 0 (a layer chosen at random among
    those whose block gradient is not already 0);
  - ``one_element_1pct``: one element off by 1% of the gradient's largest entry;
  - ``bias_sign_flip``: the sign of the bias gradient of largest magnitude flipped.
  A defect that changes nothing (an all-zero gradient: a satisfied hinge, a dead layer) is
  counted as ``no_op``; one that changes the gradient by less than ``RESOLUTION·|loss|`` is
  beyond finite differences in float64 at any step (a saturated softmax with gradients of
  1e-75 next to a loss of 8) and is counted as ``unresolvable``; neither is checked.

Both rules are measured: ``auto`` (the default, each element held to its estimated error)
and ``fixed`` (torch's ``atol=1e-5, rtol=1e-3``). Results go to a JSON file; the README's
testing section quotes it. Run it under the CPU lock with BLAS on one thread.
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
from scalarprop.commands.options import random_targets
from scalarprop.functions import HIDDEN, LOSS_OUTPUTS

HEADS = [(output, loss) for loss, outputs in LOSS_OUTPUTS.items() for output in outputs]
COMBOS = [(h, o, l, d) for h in HIDDEN for o, l in HEADS for d in (1, 2, 3)]
DEFECTS = ("zeroed_block", "one_element_1pct", "bias_sign_flip")
RULES = {"auto": {}, "fixed": {"atol": 1e-5, "rtol": 1e-3}}
#: below this change of a slope (times |loss|) no difference of float64 losses sees a
#: defect: the rounding of the loss, u|l|, over the widest step taken (2e-3·max(|θ|, 1)) is
#: already 1e-13·|l|
RESOLUTION = 1e-12


def random_case(i: int, seed: int) -> tuple[MLP, np.ndarray, np.ndarray, float]:
    """Network ``i``: combination ``i mod 108``, everything else drawn from the seed."""
    hidden, output, loss, depth = COMBOS[i % len(COMBOS)]
    rng = np.random.default_rng([seed, i])
    K = 1 if loss == "hinge" else int(rng.integers(2 if output == "softmax" else 1, 5))
    sizes = [int(rng.integers(1, 6))] + [int(w) for w in rng.integers(1, 7, size=depth)] + [K]
    scale = float(np.exp(rng.uniform(np.log(0.01), np.log(3.0))))
    net = MLP(sizes, hidden, output, loss, seed=int(rng.integers(2**31)))
    net.params[:] = rng.normal(scale=scale, size=net.num_params)
    n = int(rng.integers(1, 6))
    return net, rng.normal(size=(n, sizes[0])), random_targets(net, n, rng), scale


def seeded(defect: str, net: MLP, grad: np.ndarray, rng: np.random.Generator
           ) -> np.ndarray | None:
    """The gradient with ``defect``, or None when the defect would change nothing."""
    wrong = grad.copy()
    if defect == "zeroed_block":
        blocks = [part for l in range(net.num_layers) for part in net.layer_slices(l)
                  if np.any(grad[part] != 0)]
        if not blocks:
            return None
        wrong[blocks[int(rng.integers(len(blocks)))]] = 0.0
    elif defect == "one_element_1pct":
        largest = np.abs(grad).max()
        if largest == 0:
            return None
        wrong[int(rng.integers(len(grad)))] += 0.01 * largest * rng.choice([-1.0, 1.0])
    else:
        biases = np.concatenate([np.arange(net.num_params)[net.layer_slices(l)[1]]
                                 for l in range(net.num_layers)])
        q = biases[int(np.argmax(np.abs(grad[biases])))]
        if grad[q] == 0:
            return None
        wrong[q] = -grad[q]
    return wrong


@contextlib.contextmanager
def engine_gradient(grad: np.ndarray):
    """The vectorized engine answers ``grad`` for the next checks (the seeded defect)."""
    real = vectorized.loss_and_grad
    vectorized.loss_and_grad = lambda net, X, T: (real(net, X, T)[0], grad.copy())
    try:
        yield
    finally:
        vectorized.loss_and_grad = real


def measure(networks: int, seed: int = 0) -> dict:
    """The rates over ``networks`` random networks (see the module docstring)."""
    counts = {rule: {"false_alarms": 0, **{d: {"checked": 0, "missed": 0} for d in DEFECTS}}
              for rule in RULES}
    no_op = dict.fromkeys(DEFECTS, 0)
    unresolvable = dict.fromkeys(DEFECTS, 0)
    kinks = 0
    examples: dict[str, list[str]] = {"false_alarms": [], "misses": []}
    for i in range(networks):
        net, X, T, scale = random_case(i, seed)
        loss, grad = vectorized.loss_and_grad(net, X, T)
        rng = np.random.default_rng([seed, i, 1])
        wrongs = {d: seeded(d, net, grad, rng) for d in DEFECTS}
        for d, wrong in wrongs.items():
            if wrong is None:
                no_op[d] += 1
            elif np.abs(wrong - grad).max() < RESOLUTION * abs(loss):
                unresolvable[d] += 1
                wrongs[d] = None
        for rule, kwargs in RULES.items():
            result = check_gradients(net, X, T, engine="vectorized", **kwargs)
            if rule == "auto":
                kinks += bool(result.at_kink.any())
            if not result.ok:
                counts[rule]["false_alarms"] += 1
                if rule == "auto":
                    examples["false_alarms"].append(f"{net!r} scale {scale:.3g}")
            for d, wrong in wrongs.items():
                if wrong is None:
                    continue
                with engine_gradient(wrong):
                    caught = not check_gradients(net, X, T, engine="vectorized", **kwargs).ok
                counts[rule][d]["checked"] += 1
                if not caught:
                    counts[rule][d]["missed"] += 1
                    if rule == "auto":
                        examples["misses"].append(f"{d}: {net!r} scale {scale:.3g}")
    return {"networks": networks, "seed": seed, "rules": counts, "no_op_defects": no_op,
            "unresolvable_defects": unresolvable, "resolution": RESOLUTION,
            "networks_with_kinks": kinks, "auto_examples": {k: v[:10] for k, v in
                                                            examples.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = parser.parse_args(argv)
    if args.networks < 1:
        raise SystemExit(f"--networks {args.networks}: need at least one")
    start = time.perf_counter()
    result = measure(args.networks, args.seed)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["machine"] = {"python": sys.version.split()[0], "numpy": np.__version__,
                         "platform": platform.platform(), "cpu": cpu_summary(),
                         "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for rule, c in result["rules"].items():
        misses = ", ".join(f"{d} {c[d]['missed']}/{c[d]['checked']}" for d in DEFECTS)
        print(f"{rule:>5}: false alarms {c['false_alarms']}/{args.networks}; misses {misses}")
    print(f"wrote {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
