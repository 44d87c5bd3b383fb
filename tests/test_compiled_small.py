"""Gradient descent on small graphs (engines/compiled/small.py): the inlined walks against
the readable epoch of batch.py, step for step."""

import numpy as np
import pytest

import scalarprop.compiled as spc
from scalarprop import MLP
from scalarprop.engines import scalar
from scalarprop.engines.compiled import batch, small, training
from scalarprop.engines.compiled.mlp import mlp_loss


def readable_epoch(cf, w, X, T, lr, batch_size):
    """batch.sgd_epoch on the same slots: the oracle."""
    p = cf.program
    marks = (1, 2) if T is not None else (1,)
    args = (w, X, T) if T is not None else (w, X)
    v, B, cols = cf.batch_slots(cf.check_args(args, marks), marks)
    losses = np.zeros((len(X) + batch_size - 1) // batch_size)
    status = batch.sgd_epoch(p.ins, p.cst, p.runs, p.first, v, np.zeros(p.num_slots),
                             cf.need((0,)), int(p.outputs[0]), B, cols, cf.slots((0,)),
                             np.arange(len(X)), batch_size, lr, losses)
    return status, v[:len(w)], losses


@pytest.mark.parametrize("batch_size", [1, 3])
def test_small_epoch_equals_the_readable_epoch_and_the_scalar_engine(batch_size):
    sizes = (2, 3, 1)
    net = MLP(sizes, hidden="tanh", seed=3)
    cf = spc.compile(mlp_loss(sizes, "tanh"), net.num_params, 2, 1)
    assert training.fused_plan(cf, (0,), (1, 2)) is None      # no long run: not fused
    rng = np.random.default_rng(4)
    X, T = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    w = net.params.copy()
    losses = cf.sgd_epoch(w, X, T, lr=0.1, batched=(1, 2), batch_size=batch_size)
    status, w_ref, losses_ref = readable_epoch(cf, net.params.copy(), X, T, 0.1, batch_size)
    assert status == -1
    np.testing.assert_array_equal(w, w_ref)
    np.testing.assert_array_equal(losses, losses_ref)
    ref = np.zeros(len(losses))
    scalar.lecture_epoch(net, X, T, np.arange(20), batch_size, 0.1, ref)
    np.testing.assert_allclose(w, net.params, rtol=1e-12, atol=1e-14)


def branchy(w, x):
    """Every kind of op the small walks tell apart: a DOT, where, a comparison, binary and
    unary ops."""
    k = w[0] * x[0] + w[1] * x[1] + w[2]
    gate = spc.where(k > 0.0, k.sigmoid(), (w[3] * x[0]).exp() / (1.0 + x[1] * x[1]))
    return (gate - x[2]) ** 2 + (w[3] - w[1]).abs()


def test_small_epoch_takes_every_op_as_the_readable_epoch_does():
    cf = spc.compile(branchy, 4, 3)
    rng = np.random.default_rng(5)
    X, w = rng.normal(size=(25, 3)), rng.normal(size=4)
    trained = w.copy()
    losses = cf.sgd_epoch(trained, X, lr=0.05, batched=(1,))
    status, w_ref, losses_ref = readable_epoch(cf, w.copy(), X, None, 0.05, 1)
    np.testing.assert_array_equal(trained, w_ref)
    np.testing.assert_array_equal(losses, losses_ref)
    assert not np.array_equal(trained, w)


def test_small_epoch_stops_before_a_step_whose_loss_is_not_finite():
    cf = spc.compile(lambda w, x: (w[0] * x[0] + w[1] * x[1]).exp(), 2, 2)
    X = np.array([[0.1, 0.2], [0.3, 0.1], [900.0, 1.0], [0.1, 0.1]])
    w = np.array([1.0, 0.5])
    p = cf.program
    v, B, cols = cf.batch_slots(cf.check_args((w, X), (1,)), (1,))
    losses = np.zeros(4)
    status = small.sgd_epoch(p.ins, p.cst, p.runs, p.first, v, np.zeros(p.num_slots),
                             cf.need((0,)), int(p.outputs[0]), B, cols, cf.slots((0,)),
                             np.arange(4), 1, 0.01, losses)
    assert status == 2
    _, w_two, _ = readable_epoch(cf, w.copy(), X[:2], None, 0.01, 1)
    np.testing.assert_array_equal(v[:2], w_two)      # the two steps before it, no more


def test_direct_epoch_replays_when_a_parameter_overflows():
    # tiny rows, every run short: per-example SGD updates in the backward walk
    # (small.sgd_epoch_direct); a huge lr overflows w on step 2, found after the fact, so the
    # epoch is replayed step by step and stops before it
    cf = spc.compile(lambda w, x: (w[0] * x[0] + w[1] * x[1] + w[2]) ** 2, 3, 2)
    assert cf.direct_update((0,)) and training.fused_plan(cf, (0,), (1,)) is None
    X = np.array([[1e-3, 0.0], [0.0, 1e-3], [1e150, 1.0], [1.0, 1.0]])
    w = np.array([1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="step 2"):
        cf.sgd_epoch(w, X, lr=1e10, batched=(1,))
    _, w_two, _ = readable_epoch(cf, np.array([1.0, 1.0, 0.0]), X[:2], None, 1e10, 1)
    np.testing.assert_array_equal(w, w_two)
    # and where nothing overflows, the direct epoch's steps are the readable epoch's, bit for bit
    w = np.array([0.3, -0.2, 0.1])
    cf.sgd_epoch(w, X[[0, 1, 3]], lr=0.1, batched=(1,))
    _, w_ref, _ = readable_epoch(cf, np.array([0.3, -0.2, 0.1]), X[[0, 1, 3]], None, 0.1, 1)
    np.testing.assert_array_equal(w, w_ref)
