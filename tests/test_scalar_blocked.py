"""Per-example SGD with the first layer's update delayed over blocks equals the lecture
kernel's per-example SGD (to 1e-12)."""

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case

from scalarprop import MLP
from scalarprop.engines import scalar, scalar_fast
from scalarprop.validate import check_batch

CASES = [(h, o, l, d) for d in range(3) for h in (HIDDEN if d else ("sigmoid",))
         for o, l in HEADS]


def epochs(net, X, T, order, lr, block):
    """(lecture, blocked): each network after the epoch, its step losses and status."""
    Xc, Tc = check_batch(net, X, T)
    out = []
    for run in (lambda w, ls: scalar.lecture_epoch(w, Xc, Tc, order, 1, lr, ls),
                lambda w, ls: scalar_fast.sgd_epoch_blocked(w, Xc, Tc, order, lr, ls, block)):
        work, losses = net.copy(), np.full(len(order), np.nan)
        with np.errstate(all="ignore"):
            status = run(work, losses)
        out.append((work, losses, status))
    return out


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
def test_blocked_sgd_equals_the_lecture_kernel(hidden, output, loss, depth):
    # 42 examples in blocks of 8: five full blocks and a short one
    net, X, T = make_case(hidden, output, loss, depth, seed=depth, n=42, width=5)
    order = np.random.default_rng(depth).permutation(42)
    (a, la, sa), (b, lb, sb) = epochs(net, X, T, order, 0.01, 8)
    assert sa == sb == -1
    assert not np.array_equal(a.params, net.params)
    scale = max(1.0, np.abs(a.params).max())
    assert np.abs(a.params - b.params).max() <= 1e-12 * scale
    np.testing.assert_allclose(lb, la, rtol=1e-12, atol=1e-13)


def test_blocked_sgd_divergence_keeps_the_parameters_from_before_the_failing_step():
    net, X, T = make_case("identity", "identity", "squared", 1, n=20)
    (a, la, sa), (b, lb, sb) = epochs(net, X * 10, T, np.arange(20), 1e3, 4)
    assert sa == sb >= 0
    np.testing.assert_array_equal(a.params, b.params)
    assert np.isfinite(b.params).all()


def test_a_wide_first_layer_takes_the_blocked_path(monkeypatch):
    net = MLP([256, 128, 3], "sigmoid", "softmax", "ce", seed=0)
    assert net.sizes[0] * net.sizes[1] >= scalar_fast.BLOCKED_MIN_WEIGHTS
    rng = np.random.default_rng(0)
    Xc, Tc = check_batch(net, rng.normal(size=(70, 256)), rng.integers(0, 3, size=70))
    calls = []
    blocked = scalar_fast.sgd_epoch_blocked
    monkeypatch.setattr(scalar_fast, "sgd_epoch_blocked",
                        lambda *args: calls.append(1) or blocked(*args))
    a, b = net.copy(), net.copy()
    order = rng.permutation(70)
    scalar.lecture_epoch(a, Xc, Tc, order, 1, 0.01, np.empty(70))
    assert scalar.train_epoch(b, Xc, Tc, order, 1, 0.01, np.empty(70)) == -1
    assert calls == [1]
    np.testing.assert_allclose(b.params, a.params, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n,block,shuffled", [(5, 8, True), (21, 8, False), (16, 8, False),
                                              (9, 1, True)])
def test_blocked_sgd_for_any_count_of_examples_and_any_block(n, block, shuffled):
    # fewer examples than a block; in-order data (blocks are views of X) that the block
    # does not divide, or does; blocks of one example (no correction at all)
    net, X, T = make_case("sigmoid", "softmax", "ce", 2, seed=n, n=n, width=6)
    order = np.random.default_rng(n).permutation(n) if shuffled else np.arange(n)
    (a, la, sa), (b, lb, sb) = epochs(net, X, T, order, 0.05, block)
    assert sa == sb == -1
    assert not np.array_equal(a.params, net.params)
    scale = max(1.0, np.abs(a.params).max())
    assert np.abs(a.params - b.params).max() <= 1e-12 * scale
    np.testing.assert_allclose(lb, la, rtol=1e-12, atol=1e-13)
