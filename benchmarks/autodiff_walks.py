"""The autodiff engine against the vectorized engine, and the autodiff engine's forms against
each other: one epoch of minibatch gradient descent, batch 256, on 784-128-10 and 64-64-10
(sigmoid, softmax, ce) and 2-3-1 (sigmoid, identity, squared), timed side by side in one
process, medians of interleaved repeats, on this machine's instruction set and on the forced
AVX2 path.

The epochs timed, per network:

* ``vectorized``: the vectorized engine's ``train_epoch`` (its fast path, vectorized_fast.py);
* ``vectorized, readable epoch``: its lecture form (``vectorized.lecture_epoch``);
* ``autodiff``: the autodiff engine's ``train_epoch``: the graph of fused ops (a ``dense`` op
  per layer, one op for the loss) built for the first batch and kept (``Tape``), run again
  for every batch, the step folded into its backward walk;
* ``autodiff, graph per step``: the same graph built anew for every batch and walked by
  ``backward_reusing_buffers`` with the step folded in (what the tape saves);
* ``autodiff, checked epoch``: per step ``loss_and_grad``'s graph (the same fused ops, a new
  graph and new arrays per call), the gradient checked, then ``θ ← θ − α ∇θ``;
* ``autodiff, readable ops``: the graph of linear, activation and loss ops walked by
  ``backward_reusing_buffers`` into the flat gradient, then the step (the engine before the
  fused ops);
* ``autodiff, readable ops, plain walk``: the same graph walked by ``graph.backward``
  (slide 104 as written).

Run it with BLAS on one thread, on an otherwise idle machine:

    OPENBLAS_NUM_THREADS=1 python benchmarks/autodiff_walks.py [out.json] [--no-avx2]

It prints the times and ratios and writes them (with the machine, per path) to ``out.json``
(default ``benchmarks/autodiff_walks.json``). On a CPU with AVX-512 it runs itself again in a
child process whose libraries load their AVX2 kernels (``scalarprop bench --avx2``'s recipe).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scalarprop import MLP
from scalarprop.bench.machine import avx2_env, machine
from scalarprop.engines import get_engine, vectorized
from scalarprop.engines.autodiff import AutodiffMLP, TensorNode
from scalarprop.engines.autodiff.engine import backward_reusing_buffers, batches, checked_epoch
from scalarprop.validate import check_batch

NETWORKS = ((784, 128, 10), (64, 64, 10), (2, 3, 1))
BATCH, LR = 256, 0.001
EXAMPLES = {(784, 128, 10): 4096, (64, 64, 10): 8192, (2, 3, 1): 8192}
REPEATS = 15


def readable_ops_epoch(net, X, T, order, batch_size, lr, step_loss, plain=False):
    """The autodiff epoch on the readable graph (linear, activation and loss ops): the walk
    that computes into the flat gradient, or the plain walk of slide 104; then the step."""
    grad = np.empty(net.num_params)
    for s, rows in enumerate(batches(order, batch_size)):
        model = AutodiffMLP(net)
        if not plain:
            model.grads_into(grad)
        l = model.loss(TensorNode(X[rows], requires_grad=False, name="x"), T[rows])
        if plain:
            l.backward()
        else:
            backward_reusing_buffers(l)
        step_loss[s] = float(l.value)
        net.params -= lr * model.flat_grad()
    return -1


def plain_walk_epoch(net, X, T, order, batch_size, lr, step_loss):
    return readable_ops_epoch(net, X, T, order, batch_size, lr, step_loss, plain=True)


def graph_per_step_epoch(net, X, T, order, batch_size, lr, step_loss):
    """The engine's epoch without the tape: the fused graph built for every batch (over the
    same reused arrays) and walked with the step folded in."""
    model = AutodiffMLP(net)
    params = model.parameters()
    for s, rows in enumerate(batches(order, batch_size)):
        x = TensorNode(X[rows], requires_grad=False, name="x")
        l = model.fused_loss(x, T[rows], reuse=True)
        backward_reusing_buffers(l, step=params, lr=lr)
        step_loss[s] = l.value
    return -1


RUNS = {
    "vectorized": get_engine("vectorized").train_epoch,
    "vectorized, readable epoch": vectorized.lecture_epoch,
    "autodiff": get_engine("autodiff").train_epoch,
    "autodiff, graph per step": graph_per_step_epoch,
    "autodiff, checked epoch": checked_epoch,
    "autodiff, readable ops": readable_ops_epoch,
    "autodiff, readable ops, plain walk": plain_walk_epoch,
}
#: name -> (numerator, denominator)
RATIOS = {
    "autodiff / vectorized": ("autodiff", "vectorized"),
    "autodiff / vectorized readable epoch": ("autodiff", "vectorized, readable epoch"),
    "graph per step / autodiff": ("autodiff, graph per step", "autodiff"),
    "checked epoch / vectorized": ("autodiff, checked epoch", "vectorized"),
    "readable ops / vectorized": ("autodiff, readable ops", "vectorized"),
    "readable ops / autodiff": ("autodiff, readable ops", "autodiff"),
    "plain walk / fast walk, readable ops": ("autodiff, readable ops, plain walk",
                                             "autodiff, readable ops"),
}


def network(sizes: tuple[int, ...]) -> MLP:
    if sizes[-1] == 1:
        return MLP(sizes, "sigmoid", "identity", "squared", seed=0)
    return MLP(sizes, "sigmoid", "softmax", "ce", seed=0)


def measure(sizes: tuple[int, ...]) -> dict:
    n = EXAMPLES[sizes]
    rng = np.random.default_rng(0)
    net = network(sizes)
    T = rng.integers(0, sizes[-1], n) if net.loss == "ce" else rng.normal(size=(n, 1))
    X, T = check_batch(net, rng.random((n, sizes[0])), T)
    order = np.arange(n)
    times: dict[str, list[float]] = {k: [] for k in RUNS}
    for r in range(REPEATS + 1):
        for name, epoch in RUNS.items():
            work, step_loss = net.copy(), np.empty(n // BATCH)
            t0 = time.perf_counter()
            epoch(work, X, T, order, BATCH, LR, step_loss)
            if r > 0:                       # the first round warms up
                times[name].append((time.perf_counter() - t0) / n)
    median = {k: float(np.median(v)) for k, v in times.items()}
    return {"examples": n, "seconds_per_example": median,
            **{k: median[a] / median[b] for k, (a, b) in RATIOS.items()}}


def measure_path() -> dict:
    info = machine()
    result = {"path": info["simd_path"], "blas": info["blas_architecture"],
              "numba_cpu": info["numba_cpu"], "networks": {}}
    print(f"path {info['simd_path']}: OpenBLAS {info['blas_architecture']}", flush=True)
    for sizes in NETWORKS:
        name = "-".join(map(str, sizes))
        result["networks"][name] = r = measure(sizes)
        for k, v in r["seconds_per_example"].items():
            print(f"  {name:<11} {k:<36} {v * 1e9:8.0f} ns per example", flush=True)
        for k in RATIOS:
            print(f"  {name:<11} {k:<36} {r[k]:.3f}x", flush=True)
    return result


def on_avx2() -> dict:
    """:func:`measure_path` in a child process whose libraries load their AVX2 kernels (with
    a Numba cache of its own)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "avx2.json"
        env = dict(os.environ, **avx2_env(), NUMBA_CACHE_DIR=str(Path(tmp) / "cache"))
        subprocess.run([sys.executable, __file__, str(out), "--one-path"], env=env, check=True)
        return json.loads(out.read_text())["paths"][0]


def cost_bullet(result: dict) -> str:
    """The README's sentence on these figures (tests/test_autodiff_walks.py holds the README
    to it)."""
    paths = {p["path"]: p["networks"] for p in result["paths"]}
    a, b = paths["AVX-512"], paths["AVX2 (forced)"]

    def both(net: str, ratio: str) -> str:
        return f"{a[net][ratio]:.2f}× and {b[net][ratio]:.2f}×"

    ratio, readable = "autodiff / vectorized", "readable ops / autodiff"
    anew = "graph per step / autodiff"
    return (f"The autodiff engine takes {both('784-128-10', ratio)} the time of the vectorized "
            f"engine's fast path on 784-128-10 (sigmoid, softmax, ce), "
            f"{both('64-64-10', ratio)} on 64-64-10, and {both('2-3-1', ratio)} on 2-3-1. "
            f"Building the fused graph anew for every batch, rather than running the kept one "
            f"again, takes {both('64-64-10', anew)} the time on 64-64-10, "
            f"{both('2-3-1', anew)} on 2-3-1. "
            f"The graph of readable ops takes {both('784-128-10', readable)} the time of the "
            f"fused one on 784-128-10, {both('64-64-10', readable)} on 64-64-10. The plain walk "
            f"of `graph.py` takes "
            f"{a['784-128-10']['plain walk / fast walk, readable ops']:.2f}× the time of the "
            f"buffer-reusing one on the readable graph (784-128-10, AVX-512).")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else Path(__file__).with_suffix(".json")
    info = machine()
    paths = [measure_path()]
    if "--one-path" not in sys.argv and "--no-avx2" not in sys.argv and \
            info["instruction_set"] == "AVX-512":
        paths.append(on_avx2())
    result = {"cpu": f"{info['cpu']} ({info['instruction_set']})", "batch": BATCH,
              "repeats": REPEATS, "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
              "paths": paths}
    out.write_text(json.dumps(result, indent=2) + "\n")
    if len(paths) == 2:
        print(cost_bullet(result))


if __name__ == "__main__":
    main()
