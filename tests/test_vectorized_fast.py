"""The vectorized engine's fast path computes what its readable form computes (to 1e-12)."""

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case

from scalarprop.engines import vectorized, vectorized_fast
from scalarprop.validate import check_batch

CASES = [(h, o, l, d) for d in range(3) for h in (HIDDEN if d else ("sigmoid",))
         for o, l in HEADS]


def both(net, X, T, order, batch_size, lr):
    """(readable, fast): each network after the epoch, its step losses and return value."""
    Xc, Tc = check_batch(net, X, T)
    steps = (len(order) + batch_size - 1) // batch_size
    out = []
    for epoch in (vectorized.lecture_epoch, vectorized_fast.train_epoch):
        work, losses = net.copy(), np.full(steps, np.nan)
        with np.errstate(all="ignore"):
            status = epoch(work, Xc, Tc, order, batch_size, lr, losses)
        out.append((work, losses, status))
    return out


def assert_same(readable, fast, start, moved=True):
    (a, la, sa), (b, lb, sb) = readable, fast
    assert sa == sb == -1
    if moved:
        assert not np.array_equal(a.params, start.params)
    scale = max(1.0, np.abs(a.params).max())
    assert np.abs(a.params - b.params).max() <= 1e-12 * scale
    np.testing.assert_allclose(lb, la, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
@pytest.mark.parametrize("batch", [1, 256])
def test_one_step_equals_the_readable_engine(hidden, output, loss, depth, batch):
    net, X, T = make_case(hidden, output, loss, depth, seed=depth, n=batch, width=5)
    readable, fast = both(net, X, T, np.arange(batch), batch, 0.01)
    # one example can sit where the loss is flat (a hinge met, a softmax under |y − t|)
    assert_same(readable, fast, net, moved=batch > 1)


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
@pytest.mark.parametrize("batch", [1, 7])
def test_a_shuffled_epoch_equals_the_readable_engine(hidden, output, loss, depth, batch):
    # batch 7 of 40 examples: gathered batches and a short last one
    net, X, T = make_case(hidden, output, loss, depth, seed=depth + 10, n=40, width=5)
    order = np.random.default_rng(depth).permutation(40)
    readable, fast = both(net, X, T, order, batch, 0.01)
    assert_same(readable, fast, net)


@pytest.mark.parametrize("hidden,output,loss", [("sigmoid", "softmax", "ce"),
                                                ("relu", "identity", "squared")])
def test_an_in_order_epoch_of_batch_256_equals_the_readable_engine(hidden, output, loss):
    # 600 examples in order: every batch a view of X, the last one of 88
    net, X, T = make_case(hidden, output, loss, 2, seed=3, n=600, width=9, d=11)
    readable, fast = both(net, X, T, np.arange(600), 256, 0.001)
    assert_same(readable, fast, net)


@pytest.mark.parametrize("batch", [1, 4])
def test_divergence_keeps_the_parameters_from_before_the_failing_step(batch):
    net, X, T = make_case("identity", "identity", "squared", 1, n=20)
    (a, la, sa), (b, lb, sb) = both(net, X * 10, T, np.arange(20), batch, 1e3)
    assert sa == sb >= 0
    np.testing.assert_array_equal(a.params, b.params)
    assert np.isfinite(b.params).all()
    np.testing.assert_array_equal(la[:sa], lb[:sb])


def test_the_update_is_written_into_the_networks_own_buffer():
    net, X, T = make_case("sigmoid", "softmax", "ce", 1, n=8)
    Xc, Tc = check_batch(net, X, T)
    buffer, W = net.params, net.weights(0)
    before = W.copy()
    vectorized.train_epoch(net, Xc, Tc, np.arange(8), 8, 0.1, np.empty(1))
    assert net.params is buffer and not np.array_equal(W, before)
