"""Compiled scalar functions (``sp.compile``) against eager scalars and the hand-written
kernels, timed side by side in one run, medians of interleaved repeats:

1. micrograd's demo network (2-16-16-1, relu, hinge), forward + backward per example: the
   eager ``sp.Value``, the ``micrograd`` package itself (an optional peer, if installed) and
   the compiled function (rows looped inside one call; also one call per example);
2. per-example SGD, a traced MLP (the lecture's pseudocode over Values) against the scalar
   engine's hand-written kernels, on 2-3-1 and 784-128-10;
3. a batched gradient, the rows looped in one thread against chunks of them on ``prange``;
4. the anchor, Bernstein's "compiling ML models to C" (MNIST 784-50-10, one example per SGD
   step): trace + compile time in a fresh process with the tape kernels cached on disk, and
   one epoch of 60,000 random examples against our hand-written kernel;
5. trace and build time, call time and memory per node for graphs of 10², 10⁴ and 10⁶ nodes;
6. what ``import scalarprop`` costs, and that it compiles no kernel.

Run it with BLAS on one thread, under the CPU lock, on an otherwise idle machine:

    OPENBLAS_NUM_THREADS=1 python benchmarks/compile_bench.py [out.json] [--quick]

It prints the figures and writes them (with the machine's CPU) to ``out.json`` (default
``benchmarks/compile_bench.json``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

import scalarprop as sp
from scalarprop import MLP
from scalarprop.bench.machine import machine
from scalarprop.engines import scalar, scalar_fast
from scalarprop.engines.compiled import blocked, tape, training
from scalarprop.engines.compiled.batch import PARALLEL_MIN_WORK
from scalarprop.engines.compiled.mlp import mlp_loss
from scalarprop.memory import aligned_copy

QUICK = "--quick" in sys.argv
REPEATS = 3 if QUICK else 5
ANCHOR = {"source": "Bernstein, compiling ML models to C (MNIST 784-50-10, one example per "
                    "SGD step)",
          "interpreted_micrograd_s_per_epoch": 60000.0,
          "fastest_C_s_per_epoch": 3.0, "fastest_C_compile_s": 730.0,
          "tcc_s_per_epoch": 14.0, "tcc_compile_s": 0.2}


def interleaved(fns, repeats=REPEATS):
    """Median time of each function, run in turns (a slow spell hits all of them)."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def targets(rng, loss, n, K):
    if loss == "hinge":
        T = rng.choice([-1.0, 1.0], size=(n, 1))
        return T, T
    if loss == "ce":
        labels = rng.integers(0, K, size=n)
        return labels.astype(float), np.eye(K)[labels]
    T = rng.normal(size=(n, K))
    return T, T


# -- 1. micrograd's demo network ------------------------------------------------------------


def micrograd_demo():
    sizes = (2, 16, 16, 1)
    net = MLP(sizes, hidden="relu", output="identity", loss="hinge", seed=0)
    rng = np.random.default_rng(0)
    n_eager, n_compiled = (20, 20000) if QUICK else (100, 100000)
    X = rng.normal(size=(n_compiled, 2))
    T, _ = targets(rng, "hinge", n_compiled, 1)
    f = mlp_loss(sizes, "relu", "identity", "hinge")
    cf = sp.compile(f, net.num_params, 2, 1)
    w = net.params.copy()

    params = [sp.Value(p) for p in net.params]

    def eager():
        for n in range(n_eager):
            f(params, list(X[n]), list(T[n])).backward()

    def compiled():
        cf.grad(w, X, T, batched=(1, 2))

    def compiled_one_call_each():
        for n in range(n_eager):
            cf.grad(w, X[n], T[n])

    compiled()
    fns = {"eager_value": eager, "compiled_rows_inside": compiled,
           "compiled_one_call_per_example": compiled_one_call_each}
    peer = micrograd_peer(net, X, T, n_eager)
    if peer is not None:
        fns["micrograd_package"] = peer
    t = interleaved(fns)
    per_example = {"eager_value": t["eager_value"] / n_eager,
                   "compiled_rows_inside": t["compiled_rows_inside"] / n_compiled,
                   "compiled_one_call_per_example": t["compiled_one_call_per_example"] / n_eager}
    if peer is not None:
        per_example["micrograd_package"] = t["micrograd_package"] / n_eager
    # the same numbers: the compiled gradient of the first rows against the eager one
    for p in params:
        p.grad = 0.0
    total = np.zeros(net.num_params)
    for n in range(5):
        f(params, list(X[n]), list(T[n])).backward()
        total += [p.grad for p in params]
    _, g = cf.grad(w, X[:5], T[:5], batched=(1, 2))
    out = {"sizes": sizes, "hidden": "relu", "loss": "hinge",
           "us_per_example": {k: v * 1e6 for k, v in per_example.items()},
           "speedup_vs_eager_value": per_example["eager_value"]
           / per_example["compiled_rows_inside"],
           "max_grad_difference_vs_eager": float(np.abs(g - total).max()),
           "micrograd_package": peer is not None}
    if peer is not None:
        out["speedup_vs_micrograd_package"] = (per_example["micrograd_package"]
                                               / per_example["compiled_rows_inside"])
    return out


def micrograd_peer(net, X, T, n):
    """micrograd's own MLP with our parameters (an optional peer), or None."""
    try:
        from micrograd import nn as micrograd_nn
    except ImportError:
        return None
    model = micrograd_nn.MLP(2, [16, 16, 1])
    # micrograd keeps each neuron's weights then its bias; net.params keeps W then b per layer
    for l, layer in enumerate(model.layers):
        W, b = net.weights(l), net.biases(l)
        for j, neuron in enumerate(layer.neurons):
            for i, wi in enumerate(neuron.w):
                wi.data = float(W[j, i])
            neuron.b.data = float(b[j])

    def run():
        for k in range(n):
            model.zero_grad()
            score = model([float(X[k, 0]), float(X[k, 1])])
            (1 + -float(T[k, 0]) * score).relu().backward()

    return run


# -- 2. and 3. per-example SGD against the hand-written kernels ------------------------------


def sgd_pair(sizes, n, hidden="sigmoid", output="identity", loss="squared", lr=1e-3):
    net = MLP(sizes, hidden=hidden, output=output, loss=loss, seed=0)
    rng = np.random.default_rng(1)
    X = aligned_copy(rng.normal(size=(n, sizes[0])))
    T_engine, T_values = targets(rng, loss, n, sizes[-1])
    T_engine = np.ascontiguousarray(T_engine.reshape(n, -1))
    order = np.arange(n)
    t0 = time.perf_counter()
    cf = sp.compile(mlp_loss(sizes, hidden, output, loss), net.num_params, sizes[0],
                    sizes[-1])
    trace_s = time.perf_counter() - t0
    hand_net = net.copy()
    w = net.params.copy()
    step_loss = np.zeros(n)
    # warm both (kernels loaded), then time them in turns
    cf.sgd_epoch(w, X[:2], T_values[:2], lr=lr, batched=(1, 2))
    scalar.train_epoch(hand_net, X[:2], T_engine[:2], order[:2], 1, lr, step_loss[:2])
    t = interleaved({
        "hand_written": lambda: scalar.train_epoch(hand_net, X, T_engine, order, 1, lr,
                                                   step_loss),
        "compiled": lambda: cf.sgd_epoch(w, X, T_values, lr=lr, batched=(1, 2))})
    return {"sizes": sizes, "hidden": hidden, "output": output, "loss": loss, "examples": n,
            "traced_nodes": cf.traced_nodes, "operations": cf.program.num_ops,
            "trace_and_build_s": trace_s,
            "hand_written_us_per_example": t["hand_written"] / n * 1e6,
            "compiled_us_per_example": t["compiled"] / n * 1e6,
            "compiled_over_hand_written": t["compiled"] / t["hand_written"],
            "fused_epoch": bool(cf.direct_update((0,))),
            "hand_written_kernel": hand_kernel(sizes),
            "compiled_kernel": compiled_kernel(cf)}


def hand_kernel(sizes):
    """Which kernel scalar.train_epoch runs per example (scalar_fast.sgd_epoch decides)."""
    if sizes[0] * sizes[1] >= scalar_fast.BLOCKED_MIN_WEIGHTS:
        return "scalar_fast.sgd_epoch_blocked"
    return "scalar_fast.sgd_epoch_fused"


def compiled_kernel(cf):
    """Which epoch cf.sgd_epoch runs per example (training.sgd_epoch decides)."""
    plan = training.fused_plan(cf, (0,), (1, 2))
    if plan is None:
        runs = cf.program.runs
        short = len(runs) == 0 or int(runs[:, 2].max()) < tape.SHORT
        if short and training.direct_plan(cf, (0,)):
            return "small.sgd_epoch_direct"
        return "small.sgd_epoch" if short else "batch.sgd_epoch"
    if blocked.weights_read_ahead(cf.program.runs, plan[0]) >= blocked.BLOCKED_MIN_WEIGHTS:
        return "blocked.sgd_epoch"
    return "fused.sgd_epoch_direct"


# -- batched gradient: serial against prange -------------------------------------------------


def batched_grad():
    """One batched gradient call, the rows in one loop against chunks on Numba's threads."""
    return [batched_case((2, 16, 16, 1), 100000, "relu", "hinge"),
            batched_case((784, 50, 10), 2000 if QUICK else 10000, "sigmoid", "squared")]


def batched_case(sizes, n, hidden, loss):
    net = MLP(sizes, hidden=hidden, output="identity", loss=loss, seed=0)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, sizes[0]))
    T, _ = targets(rng, loss, n, sizes[-1])
    cf = sp.compile(mlp_loss(sizes, hidden, "identity", loss), net.num_params, sizes[0],
                    sizes[-1])
    w = net.params.copy()
    serial = cf.grad(w, X, T, batched=(1, 2), parallel=False)
    chunked = cf.grad(w, X, T, batched=(1, 2), parallel=True)
    fns = {"serial": lambda: cf.grad(w, X, T, batched=(1, 2), parallel=False),
           "prange": lambda: cf.grad(w, X, T, batched=(1, 2), parallel=True)}
    if net.num_params < 1000:       # N × P numbers: not for 40,000 parameters
        fns["per_row_grads"] = lambda: cf.grad(w, X, T, batched=(1, 2), per_row_grads=True)
    t = interleaved(fns)
    scale = np.abs(serial[1]).max()
    return {"sizes": sizes, "hidden": hidden, "loss": loss, "rows": n,
            "numba_threads": numba.get_num_threads(),
            **{f"{name}_us_per_row": t[name] / n * 1e6 for name in fns},
            "serial_over_prange": t["serial"] / t["prange"],
            "default_is_prange": bool(n * cf.program.num_ops >= PARALLEL_MIN_WORK),
            "max_grad_difference_relative": float(np.abs(serial[1] - chunked[1]).max()
                                                  / scale)}


FRESH_PROCESS = """
import time, json
t0 = time.perf_counter()
import numpy as np
import scalarprop as sp
from scalarprop.engines.compiled.mlp import mlp_loss
t1 = time.perf_counter()
cf = sp.compile(mlp_loss((784, 50, 10), "sigmoid", "softmax", "ce"), 39760, 784, 10)
t2 = time.perf_counter()
w = np.zeros(39760)
cf.sgd_epoch(w, np.zeros((1, 784)), np.eye(10)[:1], lr=0.01, batched=(1, 2))
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "trace_and_build_s": t2 - t1,
                  "first_epoch_call_s": t3 - t2, "traced_nodes": cf.traced_nodes,
                  "operations": cf.program.num_ops}))
"""


def anchor():
    # a fresh process: what a user waits for, with the tape kernels cached on disk
    fresh = json.loads(subprocess.run([sys.executable, "-c", FRESH_PROCESS], check=True,
                                      capture_output=True, text=True).stdout)
    n = 6000 if QUICK else 60000
    sgd = sgd_pair((784, 50, 10), n, "sigmoid", "softmax", "ce", lr=0.01)
    return {"fresh_process": fresh,
            "trace_and_compile_s": fresh["trace_and_build_s"] + fresh["first_epoch_call_s"],
            "examples": n, "compiled_s_per_epoch_60k": sgd["compiled_us_per_example"] * 0.06,
            "hand_written_s_per_epoch_60k": sgd["hand_written_us_per_example"] * 0.06,
            "sgd": sgd}


# -- the two back ends ----------------------------------------------------------------------


def grad_calls(cf, args, calls):
    def run():
        for _ in range(calls):
            cf.grad(*args)
    return run


def backends():
    """One ``grad`` call from Python, tape against codegen, on small graphs."""
    rng = np.random.default_rng(2)
    cases = {"lecture f (4 ops)": (lambda x: 2 / (-x[0]).exp().sin(), (1,), ([-1.0],)),
             "2-3-1 MLP loss": (mlp_loss((2, 3, 1)), (13, 2, 1),
                                (rng.normal(size=13), rng.normal(size=2), [0.5]))}
    out = []
    for name, (fn, sizes, args) in cases.items():
        tape = sp.compile(fn, *sizes, backend="tape")
        gen = sp.compile(fn, *sizes, backend="codegen")
        t0 = time.perf_counter()
        gen.grad(*args)                      # writes and compiles, or loads from disk
        first = time.perf_counter() - t0
        tape.grad(*args)
        calls = 2000
        t = interleaved({"tape": grad_calls(tape, args, calls),
                         "codegen": grad_calls(gen, args, calls)})
        out.append({"function": name, "operations": tape.program.num_ops,
                    "tape_us_per_grad_call": t["tape"] / calls * 1e6,
                    "codegen_us_per_grad_call": t["codegen"] / calls * 1e6,
                    "codegen_first_call_s": first})
    return out


# -- 4. graph size ---------------------------------------------------------------------------

SCALING = """
import json, resource, sys, time
import numpy as np
import scalarprop as sp
N = int(sys.argv[1])
def chain(x):
    acc = x[0]
    for i in range(N // 3):             # three operations per turn: *, +, tanh
        acc = (acc * x[i % 7] + x[(i + 3) % 7]).tanh()
    return acc
sp.compile(lambda x: (x[0] * x[1] + x[2]).tanh(), 7).grad(np.ones(7) * 0.1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
from scalarprop.engines.compiled.trace import trace
from scalarprop.engines.compiled.program import build
graph, outputs, _ = trace(chain, (7,))
t1 = time.perf_counter()
program = build(graph, outputs, (7,))
t2 = time.perf_counter()
cf = sp.compile(chain, 7)
x = np.linspace(0.1, 0.7, 7)
cf.grad(x)
t3 = time.perf_counter()
calls = max(1, 10**6 // N)
for _ in range(calls):
    cf.grad(x)
t4 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
arrays = (program.ins.nbytes + program.cst.nbytes + program.runs.nbytes
          + program.op.nbytes + 2 * 8 * program.num_slots)
print(json.dumps({"traced_nodes": len(graph), "operations": program.num_ops,
                  "trace_s": t1 - t0, "build_s": t2 - t1,
                  "grad_call_s": (t4 - t3) / calls,
                  "ns_per_operation_forward_backward": (t4 - t3) / calls / program.num_ops * 1e9,
                  "kernel_bytes_per_operation": arrays / program.num_ops,
                  "peak_rss_bytes_per_traced_node": (peak - before) * 1024 / len(graph)}))
"""


def scaling():
    out = []
    for N in (10**2, 10**4) if QUICK else (10**2, 10**4, 10**6):
        result = subprocess.run([sys.executable, "-c", SCALING, str(N)], check=True,
                                capture_output=True, text=True)
        out.append({"target_nodes": N, **json.loads(result.stdout)})
    return out


# -- 5. import -------------------------------------------------------------------------------

IMPORT = """
import json, time
t0 = time.perf_counter()
import scalarprop
t1 = time.perf_counter()
from scalarprop.engines.compiled import batch, blocked, fused, small, tape
kernels = [tape.forward, tape.backward, tape.tangent, tape.backward_tangent, batch.sgd_epoch,
           batch.grad_chunks, fused.sgd_epoch_direct, blocked.sgd_block, small.sgd_epoch,
           small.sgd_epoch_direct]
print(json.dumps({"import_scalarprop_s": t1 - t0,
                  "kernels_compiled_at_import": sum(len(k.signatures) for k in kernels)}))
"""


def import_cost():
    runs = [json.loads(subprocess.run([sys.executable, "-c", IMPORT], check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(3)]
    own = subprocess.run([sys.executable, "-X", "importtime", "-c", "import scalarprop"],
                         check=True, capture_output=True, text=True).stderr
    compiled_us = sum(int(line.split("|")[0].split(":")[1]) for line in own.splitlines()
                      if "scalarprop.engines.compiled" in line or
                      line.rstrip().endswith("scalarprop.compiled"))
    return {"import_scalarprop_s": float(np.median([r["import_scalarprop_s"] for r in runs])),
            "kernels_compiled_at_import": max(r["kernels_compiled_at_import"] for r in runs),
            "compiled_modules_self_s": compiled_us / 1e6}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0]) if args else Path(__file__).with_name("compile_bench.json")
    result = {"machine": machine(), "quick": QUICK, "anchor_bernstein": ANCHOR}
    result["micrograd_demo"] = micrograd_demo()
    print(json.dumps(result["micrograd_demo"], indent=1))
    result["sgd_vs_hand_written"] = [sgd_pair((2, 3, 1), 20000 if QUICK else 100000),
                                     sgd_pair((784, 128, 10), 2000 if QUICK else 10000)]
    print(json.dumps(result["sgd_vs_hand_written"], indent=1))
    result["batched_grad"] = batched_grad()
    print(json.dumps(result["batched_grad"], indent=1))
    result["backends"] = backends()
    print(json.dumps(result["backends"], indent=1))
    result["anchor"] = anchor()
    print(json.dumps(result["anchor"], indent=1))
    result["scaling"] = scaling()
    print(json.dumps(result["scaling"], indent=1))
    result["import"] = import_cost()
    print(json.dumps(result["import"], indent=1))
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
