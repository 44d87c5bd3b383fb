"""The fast kernels compute what the lecture-faithful kernels compute (to 1e-12)."""

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case

from scalarprop import MLP, scalar, scalar_fast
from scalarprop.engines import scalar_parallel
from scalarprop.memory import aligned, aligned_copy
from scalarprop.validate import check_batch

CASES = [(h, o, l, d) for d in range(4) for h in (HIDDEN if d else ("sigmoid",))
         for o, l in HEADS]


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
def test_fused_sgd_epoch_equals_the_lecture_kernel(hidden, output, loss, depth):
    net, X, T = make_case(hidden, output, loss, depth, seed=depth, n=40, width=5)
    Xc, Tc = check_batch(net, X, T)
    order = np.random.default_rng(1).permutation(40)
    a, b = net.copy(), net.copy()
    la, lb = np.empty(40), np.empty(40)
    assert scalar.lecture_epoch(a, Xc, Tc, order, 1, 0.01, la) == -1
    assert scalar_fast.sgd_epoch(b, aligned_copy(Xc), Tc, order, 0.01, lb) == -1
    assert not np.allclose(a.params, net.params)
    scale = max(1.0, np.abs(a.params).max())
    assert np.abs(a.params - b.params).max() <= 1e-12 * scale
    np.testing.assert_allclose(la, lb, rtol=1e-12, atol=1e-13)


def test_fused_kernel_on_a_wide_odd_network():
    # odd widths exercise the one-row tails of the two-rows-at-a-time loops
    net = MLP([37, 13, 7, 3], "tanh", "softmax", "ce", seed=2)
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(60, 37)), rng.integers(0, 3, size=60)
    Xc, Tc = check_batch(net, X, T)
    order = rng.permutation(60)
    a, b = net.copy(), net.copy()
    scalar.lecture_epoch(a, Xc, Tc, order, 1, 0.01, np.empty(60))
    scalar_fast.sgd_epoch(b, Xc, Tc, order, 0.01, np.empty(60))
    np.testing.assert_allclose(b.params, a.params, rtol=0, atol=1e-12)


def test_fused_kernel_divergence_keeps_the_parameters_from_before_the_step():
    net, X, T = make_case("identity", "identity", "squared", 1, n=20)
    Xc, Tc = check_batch(net, X * 10, T)
    order = np.arange(20)
    a, b = net.copy(), net.copy()
    with np.errstate(all="ignore"):
        sa = scalar.lecture_epoch(a, Xc, Tc, order, 1, 1e3, np.empty(20))
        sb = scalar_fast.sgd_epoch(b, Xc, Tc, order, 1e3, np.empty(20))
    assert sa == sb >= 0
    np.testing.assert_array_equal(a.params, b.params)
    assert np.isfinite(b.params).all()


@pytest.mark.parametrize("hidden,output,loss,depth", CASES[::3])
@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_parallel_gradient_equals_the_lecture_kernel(hidden, output, loss, depth, chunks):
    net, X, T = make_case(hidden, output, loss, depth, seed=7, n=11)
    l1, g1 = scalar.loss_and_grad(net, X, T)
    l2, g2 = scalar_parallel.loss_and_grad_parallel(net, X, T, chunks=chunks)
    assert l2 == pytest.approx(l1, rel=1e-12, abs=1e-14)
    assert np.abs(g1 - g2).max() <= 1e-12 * max(1.0, np.abs(g1).max())


def test_aligned_copy():
    X = np.random.default_rng(0).normal(size=(5, 3))
    A = aligned_copy(X)
    assert A.ctypes.data % 64 == 0 and A.flags.c_contiguous
    np.testing.assert_array_equal(A, X)
    assert aligned(A) is A
    B = aligned(X[:, 1:])                   # a strided view is copied
    assert B.ctypes.data % 64 == 0 and B.flags.c_contiguous
    np.testing.assert_array_equal(B, X[:, 1:])


def test_the_engine_takes_the_fused_kernel_for_per_example_sgd(monkeypatch):
    net, X, T = make_case("tanh", "identity", "squared", 1, seed=2, n=10)
    Xc, Tc = check_batch(net, X, T)
    calls = []
    real = scalar_fast.sgd_epoch
    monkeypatch.setattr(scalar_fast, "sgd_epoch", lambda *a: calls.append(1) or real(*a))
    order = np.arange(10)
    assert scalar.train_epoch(net.copy(), Xc, Tc, order, 1, 0.01, np.empty(10)) == -1
    assert scalar.train_epoch(net.copy(), Xc, Tc, order, 2, 0.01, np.empty(5)) == -1
    assert calls == [1]                     # batch size 1 only


def test_the_fast_kernel_compiled_first_leaves_the_lecture_kernel_strict(tmp_path):
    # the fused kernel calls the lecture kernel's functions; compiled first in a fresh cache,
    # it must not make them fastmath (the lecture kernel must equal plain Python, bit for bit)
    import os
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
        "from cases import make_case\n"
        "from scalarprop import scalar, scalar_fast\n"
        "from scalarprop.validate import check_batch\n"
        "net, X, T = make_case('tanh', 'softmax', 'ce', 2, seed=6)\n"
        "X, T = check_batch(net, X, T)\n"
        "if sys.argv[1] == 'fast':\n"
        "    scalar_fast.sgd_epoch(net.copy(), X, T, np.arange(len(X)), 0.01, np.empty(len(X)))\n"
        "l, g = scalar.loss_and_grad(net, X, T)\n"
        "np.save(sys.argv[2], np.concatenate([[l], g]))\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-c", code, "fast", str(tmp_path / "jit.npy")], env=env,
                   check=True)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", code, "-", str(tmp_path / "py.npy")], env=env,
                   check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "jit.npy"), np.load(tmp_path / "py.npy"))
