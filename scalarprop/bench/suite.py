"""The speedup-from-vectorizing suite: time per example of one training step.

One step is forward + backward + update, in float64, for the lecture's kind of network (one
sigmoid hidden layer; identity output and squared loss for one output, softmax and
cross-entropy for several). Every figure is the median of repeats after a warm-up; BLAS (and
torch) are pinned to ``threads`` threads (default 1) so that ratios compare algorithms, not
core counts. Everything is measured side by side in one run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..network import MLP
from ..validate import check_batch
from . import purepython

SIZES = [(2, 3, 1), (2, 16, 1), (64, 64, 10), (784, 128, 10)]
SWEEP_IO = (64, 10)
SWEEP_WIDTHS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
QUICK_WIDTHS = [2, 16, 128, 1024]
LR = 1e-3


def make_net(sizes: tuple[int, ...], seed: int = 0) -> MLP:
    if sizes[-1] == 1:
        return MLP(sizes, "sigmoid", "identity", "squared", seed=seed)
    return MLP(sizes, "sigmoid", "softmax", "ce", seed=seed)


def make_data(net: MLP, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, net.sizes[0]))
    T = rng.integers(0, net.sizes[-1], size=n) if net.loss == "ce" else rng.normal(size=(n, 1))
    return check_batch(net, X, T)


def step_flops(sizes: tuple[int, ...], batch: int) -> float:
    """Floating-point operations per example of one step: 2 per multiply-add of the forward
    (``K = X Wᵀ``), the weight gradients (``W∇ = K∇ᵀ X``) and the input gradients of every
    layer but the first (``H∇ = K∇ W``), plus the update (2 per parameter, shared by the
    batch). Element-wise work is not counted."""
    mm = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    P = sum(mm) + sum(sizes[1:])
    return 2.0 * (2 * sum(mm) + sum(mm[1:])) + 2.0 * P / batch


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def examples_for(sizes: tuple[int, ...], budget: float, seconds_per_flop: float,
                 lo: int, hi: int) -> int:
    """How many examples fill about ``budget`` seconds at a rough speed."""
    n = int(budget / max(step_flops(sizes, 1) * seconds_per_flop, 1e-12))
    return int(min(hi, max(lo, n)))


# -- the engines, one training step each ------------------------------------------------------


def time_python_lists(net: MLP, X: np.ndarray, T: np.ndarray, n: int, repeats: int) -> float:
    W, b, V, c = purepython.from_network(net)
    xs = X[:n].tolist()
    softmax = net.loss == "ce"
    ts = [int(t) for t in T[:n, 0]] if softmax else T[:n].tolist()

    def epoch():
        for x, t in zip(xs, ts):
            purepython.sgd_step(W, b, V, c, x, t, LR, softmax)

    return median_time(epoch, repeats) / n


def time_scalar(net: MLP, X: np.ndarray, T: np.ndarray, n: int, repeats: int,
                mode: str, placements: int = 3) -> float:
    """Per-example SGD in the scalar engine: the fused kernel once per epoch ("epoch") or
    once per example ("call"), or the lecture kernel once per epoch ("lecture").

    The arrays are allocated afresh ``placements`` times and the median taken: on small
    networks the time can change by up to 1.6x between allocations (measured here on 2-3-1),
    and one allocation need not be the typical one."""
    return float(np.median([_time_scalar_once(net, X, T, n, repeats, mode)
                            for _ in range(placements)]))


def _time_scalar_once(net: MLP, X: np.ndarray, T: np.ndarray, n: int, repeats: int,
                      mode: str) -> float:
    from ..engines import scalar, scalar_fast
    from ..memory import aligned_copy

    work = net.copy()
    Xa = aligned_copy(X[:n])
    Tn = T[:n].copy()
    order = np.arange(n, dtype=np.int64)
    step_loss = np.empty(n)
    nodes = scalar.node_rows(net.sizes)
    if mode == "epoch":
        # the engine's per-example SGD: the fused kernel, or blocks for a wide first layer
        fn = lambda: scalar_fast.sgd_epoch(work, Xa, Tn, order, LR, step_loss)
    elif mode == "lecture":
        grad = np.empty(net.num_params)
        fn = lambda: scalar.train_epoch_kernel(work.params, work.spec, Xa, Tn, order, 1, LR,
                                               nodes, grad, step_loss)
    elif mode == "call":
        singles = [order[e:e + 1] for e in range(n)]
        kernel, params, spec = scalar_fast.sgd_epoch_fused, work.params, work.spec

        def fn():
            for one in singles:
                kernel(params, spec, Xa, Tn, one, LR, nodes, step_loss)
    else:
        raise ValueError(mode)
    return median_time(fn, repeats) / n


def time_minibatch_scalar(net: MLP, X: np.ndarray, T: np.ndarray, batch: int, repeats: int,
                          parallel: bool) -> float:
    """Minibatch steps with the scalar kernels: the lecture kernel, or prange over chunks."""
    import numba

    from ..engines import scalar, scalar_parallel

    work = net.copy()
    Xb, Tb = X[:batch], T[:batch]
    grad = np.empty(net.num_params)
    if parallel:
        C = numba.get_num_threads()
        nodes, grads = scalar.node_rows(net.sizes, C), np.empty((C, net.num_params))
        losses = np.empty(C)

        def fn():
            g = scalar_parallel.loss_and_grad_parallel_kernel(work.params, work.spec, Xb, Tb,
                                                              nodes, grads, losses)
            work.params[:] -= LR * g
    else:
        nodes = scalar.node_rows(net.sizes, 1)

        def fn():
            scalar.loss_and_grad_kernel(work.params, work.spec, Xb, Tb, nodes, grad)
            work.params[:] -= LR * grad
    return median_time(fn, repeats) / batch


def time_vectorized(net: MLP, X: np.ndarray, T: np.ndarray, n: int, batch: int,
                    repeats: int) -> float:
    from ..engines import vectorized

    work = net.copy()
    order = np.arange(n, dtype=np.int64)
    step_loss = np.empty((n + batch - 1) // batch)
    return median_time(lambda: vectorized.train_epoch(work, X[:n], T[:n], order, batch, LR,
                                                      step_loss), repeats) / n


def time_autodiff(net: MLP, X: np.ndarray, T: np.ndarray, n: int, batch: int,
                  repeats: int) -> float | None:
    try:
        from ..engines import autodiff
    except ImportError:
        return None
    if not hasattr(autodiff, "loss_and_grad"):
        return None
    work = net.copy()

    def fn():
        for s in range(0, n, batch):
            _, g = autodiff.loss_and_grad(work, X[s:s + batch], T[s:s + batch])
            work.params[:] -= LR * g

    return median_time(fn, repeats) / n


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def time_torch(net: MLP, X: np.ndarray, T: np.ndarray, n: int, batch: int,
               repeats: int) -> float:
    import torch

    W0 = torch.tensor(net.weights(0), dtype=torch.float64, requires_grad=True)
    b0 = torch.tensor(net.biases(0), dtype=torch.float64, requires_grad=True)
    W1 = torch.tensor(net.weights(1), dtype=torch.float64, requires_grad=True)
    b1 = torch.tensor(net.biases(1), dtype=torch.float64, requires_grad=True)
    params = [W0, b0, W1, b1]
    Xt = torch.from_numpy(np.ascontiguousarray(X[:n]))
    ce = net.loss == "ce"
    Tt = torch.from_numpy(T[:n, 0].astype(np.int64)) if ce else torch.from_numpy(T[:n])
    batches = [(Xt[s:s + batch], Tt[s:s + batch]) for s in range(0, n, batch)]

    def fn():
        for xb, tb in batches:
            y = torch.sigmoid(xb @ W0.T + b0) @ W1.T + b1
            if ce:
                loss = torch.nn.functional.cross_entropy(y, tb, reduction="sum")
            else:
                loss = ((y - tb) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= LR * p.grad
                    p.grad = None

    return median_time(fn, repeats) / n


#: square sizes comparable to a 784-128-10 step's GEMMs: each has 128·784·256 = 25.7M
#: multiply-adds, a cube of side 295; these squares have 0.65 to 5 times as many
COMPARABLE = (256, 384, 512)


def matmul_gflops(repeats: int, n: int = 1024) -> float:
    """A float64 square matrix multiply of side ``n``, in GFLOP/s, under the same BLAS threads
    (median of ``repeats``)."""
    rng = np.random.default_rng(0)
    A, B = rng.random((n, n)), rng.random((n, n))
    C = np.empty((n, n))
    return 2.0 * n ** 3 / median_time(lambda: np.matmul(A, B, out=C), repeats) / 1e9


def ceiling_gflops(repeats: int) -> float:
    """The matmul ceiling: the best rate of a square float64 product at the sizes comparable
    to the step's GEMMs (:data:`COMPARABLE`).

    The ceiling a step is held to is what BLAS reaches on products of its size. OpenBLAS's
    rate grows with the size, and with AVX-512 kernels it keeps growing well past a step's
    GEMMs (one run here: 67 GFLOP/s at side 256, 72 at 384-512, 79 at 1024, 82 at 2048;
    with AVX2 kernels 54, 53, 56, 54): a 1024×1024 product, the first definition, asked a
    step of 784-128-10 for a rate no product of its size reaches (its own GEMMs alone,
    operands hot, ordered any way: 58-72 GFLOP/s). Nor is the ceiling the step's own GEMMs,
    which would measure BLAS against itself."""
    return max(matmul_gflops(repeats, n) for n in COMPARABLE)


def step_gemm_gflops(sizes: tuple[int, ...], batch: int, n: int, repeats: int) -> float:
    """The matrix products of one vectorized step alone, on the step's shapes and a fresh
    batch of data each step, as the fast path calls them (``Kᵀ = W Xᵀ``, ``H∇ᵀ = Wᵀ K∇ᵀ``,
    ``W ← W − α K∇ᵀ X``): what BLAS gives for this step's GEMMs, in GFLOP/s of
    :func:`step_flops`. The gap to the matmul ceiling is BLAS's on these shapes, before any
    element-wise work."""
    from scipy.linalg.blas import dgemm

    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0]))
    W = [rng.random((b, a)) * 0.01 for a, b in zip(sizes[:-1], sizes[1:])]
    K = [np.empty((b, batch)) for b in sizes[1:]]

    def epoch():
        for s in range(0, n - batch + 1, batch):
            Xb = X[s:s + batch]
            src = Xb.T
            for l, Wl in enumerate(W):
                np.matmul(Wl, src, out=K[l])
                src = K[l]
            for l in range(len(W) - 1, -1, -1):
                if l > 0:
                    np.matmul(W[l].T, K[l], out=K[l - 1])
                    dgemm(-1e-9, K[l - 1].T, K[l].T, 1.0, W[l].T, trans_a=1, overwrite_c=1)
                else:
                    dgemm(-1e-9, Xb.T, K[0].T, 1.0, W[0].T, overwrite_c=1)

    per_example = median_time(epoch, repeats) / (n // batch * batch)
    return step_flops(sizes, batch) / per_example / 1e9


def step_share(sizes: tuple[int, ...], batch: int, n: int, rounds: int,
               have_torch: bool) -> dict[str, float]:
    """The share of the matmul ceiling of a vectorized step, of its GEMMs alone
    (:func:`step_gemm_gflops`) and of PyTorch's step, measured in interleaved rounds: each
    round times the ceiling (:func:`ceiling_gflops`), a 1024×1024 product and the steps one
    after another, and each share is the median over rounds of the round's ratio. The
    machine's speed drifts by 10% and more within a run (a shared VM), and a ceiling timed
    minutes before the step would carry that drift into the share."""
    net = make_net(sizes)
    X, T = make_data(net, n)
    flops = step_flops(sizes, batch)
    shares: dict[str, list[float]] = {k: [] for k in ("vectorized", "gemm", "vectorized_1024",
                                                      "torch")}
    ceilings, squares = [], []
    for _ in range(rounds):
        ceiling = ceiling_gflops(3)
        square = matmul_gflops(3)
        vec = flops / time_vectorized(net, X, T, n, batch, 3) / 1e9
        shares["vectorized"].append(vec / ceiling)
        shares["vectorized_1024"].append(vec / square)
        shares["gemm"].append(step_gemm_gflops(sizes, batch, n, 3) / ceiling)
        if have_torch:
            shares["torch"].append(flops / time_torch(net, X, T, n, batch, 3) / 1e9 / ceiling)
        ceilings.append(ceiling)
        squares.append(square)
    out = {k: float(np.median(v)) for k, v in shares.items() if v}
    out.update(ceiling_gflops=float(np.median(ceilings)),
               matmul_1024_gflops=float(np.median(squares)), rounds=rounds)
    return out


# -- compile time, uncompiled kernels: fresh processes ----------------------------------------

_COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
from scalarprop import MLP, train
net = MLP([2, 3, 2], 'sigmoid', 'softmax', 'ce', seed=0)
X = np.random.default_rng(0).normal(size=(8, 2))
train(net, X, np.arange(8) % 2, engine='scalar', epochs=1, progress=False)
train(net, X, np.arange(8) % 2, engine='scalar', batch_size=4, epochs=1, progress=False)
print(time.perf_counter() - t0)
"""


def compile_times() -> dict[str, float]:
    """Import + first training call in a fresh process with an empty Numba cache (cold),
    then again with the cache that run wrote (warm)."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for key in ("cold_s", "warm_s"):
            r = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env,
                               capture_output=True, text=True, check=True)
            out[key] = float(r.stdout.strip().splitlines()[-1])
    return out


def demo_start_times() -> dict[str, float]:
    """`scalarprop demo` as a user runs it (the loss plot included, written in a scratch
    folder): from an empty Numba cache, then again with the cache that run wrote; the time
    to the first line of output, and the compile time the cold run reports."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(scratch, "numba-cache"))
        cmd = [sys.executable, "-m", "scalarprop.cli", "demo"]
        for run in ("cold", "warm"):
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, env=env, cwd=scratch, stdout=subprocess.PIPE, text=True)
            assert p.stdout is not None
            p.stdout.readline()
            out[f"demo_{run}_first_output_s"] = time.perf_counter() - t0
            rest, _ = p.communicate()
            out[f"demo_{run}_total_s"] = time.perf_counter() - t0
            if p.returncode != 0:
                raise RuntimeError(f"scalarprop demo failed ({run} cache): {rest[-500:]}")
            found = re.search(r"Numba compile or cache load: ([0-9.]+) s", rest)
            if found:
                out[f"demo_{run}_compile_s"] = float(found.group(1))
    return out


_UNCOMPILED_SNIPPET = """
import json, sys, time
import numpy as np
from scalarprop.bench.suite import make_net, make_data, LR
from scalarprop.engines import scalar
sizes, n = json.loads(sys.argv[1]), int(sys.argv[2])
res = {}
for s in sizes:
    net = make_net(tuple(s)); X, T = make_data(net, n)
    order = np.arange(n, dtype=np.int64)
    t0 = time.perf_counter()
    scalar.train_epoch_kernel(net.params, net.spec, X, T, order, 1, LR, scalar.node_rows(net.sizes),
                              np.empty(net.num_params), np.empty(n))
    res["-".join(map(str, s))] = (time.perf_counter() - t0) / n
print(json.dumps(res))
"""


def uncompiled_times(sizes: list[tuple[int, ...]], n: int) -> dict[str, float]:
    """The scalar engine's own kernels run as plain Python (``NUMBA_DISABLE_JIT=1``: every
    kernel is its ``py_func``), per example, in a fresh process."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    r = subprocess.run([sys.executable, "-c", _UNCOMPILED_SNIPPET, json.dumps(sizes), str(n)],
                       env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])
