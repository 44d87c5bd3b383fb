"""The blocked SGD epoch of compiled functions (engines/compiled/blocked.py): the same steps
as per-example SGD one row at a time, against the scalar engine and against ``cf.grad``
applied row by row."""

import numpy as np
import pytest

import scalarprop.compiled as spc
from scalarprop import MLP
from scalarprop.engines import scalar
from scalarprop.engines.compiled import blocked, fused, training
from scalarprop.engines.compiled.mlp import mlp_loss


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocked epochs on small functions: every weight matrix qualifies, 8 rows a block."""
    monkeypatch.setattr(blocked, "BLOCKED_MIN_WEIGHTS", 0)
    monkeypatch.setattr(blocked, "BLOCK", 8)


@pytest.mark.parametrize("hidden, output, loss", [("sigmoid", "identity", "squared"),
                                                  ("tanh", "softmax", "ce")])
def test_blocked_epoch_equals_the_scalar_engines_sgd(small_blocks, hidden, output, loss):
    sizes = (20, 7, 3)
    net = MLP(sizes, hidden=hidden, output=output, loss=loss, seed=1)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(43, 20))               # 5 blocks of 8 and a short one of 3
    labels = rng.integers(0, 3, 43)
    T_engine = labels.reshape(-1, 1).astype(float) if loss == "ce" else rng.normal(size=(43, 3))
    T_values = np.eye(3)[labels] if loss == "ce" else T_engine
    order = rng.permutation(43)
    cf = spc.compile(mlp_loss(sizes, hidden, output, loss), net.num_params, 20, 3)
    look, _ = training.fused_plan(cf, (0,), (1, 2))
    assert len(blocked.matrices(cf.program.runs, look)) == 1      # W₀: one matrix
    w = net.params.copy()
    losses = cf.sgd_epoch(w, X, T_values, lr=0.05, batched=(1, 2), order=order)
    ref = np.zeros(43)
    scalar.lecture_epoch(net, X, T_engine, order, 1, 0.05, ref)
    np.testing.assert_allclose(w, net.params, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(losses, ref, rtol=1e-12)


def two_matrices(w, x):
    """Two weight matrices reading different halves of x: two groups, two Gram matrices."""
    first = [spc.dot(w[10 * j:10 * j + 10], x[0:10]).tanh() for j in range(3)]
    second = [spc.dot(w[30 + 10 * j:40 + 10 * j], x[10:20]).sigmoid() for j in range(2)]
    return (sum(first[1:], first[0]) - sum(second[1:], second[0]) * x[20]) ** 2


def stepped(cf, w, X, lr):
    """Per-example SGD, one cf.grad call per row: the oracle."""
    w = w.copy()
    for x in X:
        w -= lr * cf.grad(w, x)[1]
    return w


def test_two_weight_matrices_are_blocked_separately(small_blocks):
    cf = spc.compile(two_matrices, 50, 21)
    look, _ = training.fused_plan(cf, (0,), (1,))
    assert [len(m) for m in blocked.matrices(cf.program.runs, look)] == [3, 2]
    rng = np.random.default_rng(3)
    w, X = rng.normal(size=50) * 0.3, rng.normal(size=(19, 21))
    trained = w.copy()
    cf.sgd_epoch(trained, X, lr=0.02, batched=(1,))
    np.testing.assert_allclose(trained, stepped(cf, w, X, 0.02), rtol=1e-12, atol=1e-13)


def test_blocked_epoch_stops_before_a_diverging_step(small_blocks):
    # exp(w·x) overflows on row 11 (in the second block): the steps before it stand
    cf = spc.compile(lambda w, x: spc.dot(w, x).exp(), 10, 10)
    X = np.full((14, 10), 0.1)
    X[11] = 1000.0
    w = np.full(10, 0.1)
    trained = w.copy()
    with pytest.raises(ValueError, match="step 11"):
        cf.sgd_epoch(trained, X, lr=0.01, batched=(1,))
    np.testing.assert_allclose(trained, stepped(cf, w, X[:11], 0.01), rtol=1e-13)


def test_only_rows_that_something_reads_are_copied():
    # in an MLP the runs read ahead are x's only readers; t is read by the loss
    sizes = (20, 7, 3)
    cf = spc.compile(mlp_loss(sizes), 7 * 20 + 7 + 3 * 7 + 3, 20, 3)
    p = cf.program
    look, _ = training.fused_plan(cf, (0,), (1, 2))
    _, runs_ahead, _ = fused.scratch(np.zeros(p.num_slots), p.runs, look)
    x, t = (int(p.offsets[1]), int(p.offsets[2])), (int(p.offsets[2]), int(p.offsets[3]))
    assert not blocked.is_read(p.ins, runs_ahead, *x)
    assert blocked.is_read(p.ins, p.runs, *x)             # before the runs are replaced
    assert blocked.is_read(p.ins, runs_ahead, *t)
    # x[20] times the sum: x is read by a product, not only by the runs read ahead
    cf = spc.compile(two_matrices, 50, 21)
    p = cf.program
    look, _ = training.fused_plan(cf, (0,), (1,))
    _, runs_ahead, _ = fused.scratch(np.zeros(p.num_slots), p.runs, look)
    assert blocked.is_read(p.ins, runs_ahead, int(p.offsets[1]), int(p.offsets[2]))
