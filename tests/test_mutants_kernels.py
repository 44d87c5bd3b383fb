"""Cases that mutation testing (docs/mutation-testing.md) showed no other test pins down in the
kernels: each is held to a worked number or to another engine."""

import math

import numpy as np
import pytest
from cases import make_case

from scalarprop import MLP, scalar, scalar_fast, vectorized
from scalarprop.examples import lecture_network
from scalarprop.validate import check_batch


def logits_net(b, depth):
    """A softmax/ce network with ``depth`` hidden layers whose logits are ``b`` exactly (the
    output weights are 0)."""
    net = MLP([1] + [2] * depth + [len(b)], output="softmax", loss="ce", seed=0)
    net.weights(depth)[:] = 0.0
    net.biases(depth)[:] = b
    return net


@pytest.mark.parametrize("engine", [scalar, vectorized])
@pytest.mark.parametrize("depth", [0, 1])
@pytest.mark.parametrize("top", [0, 1, 2])
def test_softmax_and_ce_take_the_largest_logit_wherever_it_is(engine, depth, top):
    # logits 0, 0 and 800 (at `top`): softmax subtracts the largest before e^z, so y is
    # exactly one-hot and ce is exact: 800 - z_t (+ log(1 + 2e^-800), which rounds away)
    b = np.zeros(3)
    b[top] = 800.0
    net = logits_net(b, depth)
    X = np.ones((1, 1))
    y = f"h{depth + 1}"
    for t, want in ((top, 0.0), ((top + 1) % 3, 800.0)):
        nodes = engine.nodes(net, X, np.array([t]))
        np.testing.assert_array_equal(nodes[y][0], np.eye(3)[top])
        assert nodes["loss"] == want
        # dl/dz = y - onehot(t), the gradient of the output biases
        np.testing.assert_array_equal(nodes["grad"][-3:], np.eye(3)[top] - np.eye(3)[t])
    # dl/dy_t = -1/y_t = -e^(lse - z_t): -1 at the top class
    nodes = engine.nodes(net, X, np.array([top]))
    assert nodes[y + "_grad"][0, top] == -1.0


@pytest.mark.parametrize("engine", [scalar, vectorized])
def test_the_loss_alone_is_the_lectures_loss(engine):
    net, x, t = lecture_network()
    assert engine.loss(net, x[None], t[None]) == pytest.approx(4.0, abs=1e-12)  # (10.1-12.1)^2


def no_replay(*args):
    raise AssertionError("a finite epoch was replayed with the lecture kernel")


def test_a_finite_epoch_is_not_replayed_by_the_lecture_kernel(monkeypatch):
    # the fast kernels fall back to the lecture kernel only after a step that is not
    # finite; a finite epoch comes out of the fast path itself, with the lecture's numbers
    net, X, T = make_case("tanh", "softmax", "ce", 1, n=10)
    Xc, Tc = check_batch(net, X, T)
    order = np.arange(10)[::-1].copy()
    want = net.copy()
    assert scalar.lecture_epoch(want, Xc, Tc, order, 1, 0.05, np.empty(10)) == -1
    monkeypatch.setattr(scalar_fast, "lecture_epoch", no_replay)
    for run in (scalar_fast.sgd_epoch,
                lambda *args: scalar_fast.sgd_epoch_blocked(*args, block=4)):
        got = net.copy()
        assert run(got, Xc, Tc, order, 0.05, np.empty(10)) == -1
        np.testing.assert_allclose(got.params, want.params, rtol=0, atol=1e-12)


def test_absolute_loss_at_its_kink_takes_the_subgradient_zero_in_both_engines():
    # y == t: |y - t| has no derivative; both engines take sign(0) = 0 (numpy's np.sign).
    # The output weights are 0, so y = c exactly in both engines.
    net = MLP([2, 3, 2], hidden="tanh", output="identity", loss="absolute", seed=1)
    net.weights(1)[:] = 0.0
    X = np.array([[0.5, -1.0], [1.0, 2.0]])
    T = np.array([net.biases(1), net.biases(1) - [1.0, 0.0]])   # one element off the kink
    s, v = scalar.nodes(net, X, T), vectorized.nodes(net, X, T)
    np.testing.assert_array_equal(v["h2_grad"], [[0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(s["h2_grad"], v["h2_grad"])
    np.testing.assert_allclose(s["grad"], v["grad"], rtol=1e-13, atol=1e-15)
    assert s["loss"] == v["loss"] == pytest.approx(1.0, abs=1e-12) and math.isfinite(s["loss"])


def test_a_step_whose_loss_overflows_is_found_by_every_sgd_kernel():
    # logits +-1e308: ce = lse - z_t is 2e308 = inf for class 1 while its gradient
    # y - onehot(t) = (1, -1) is finite, so only the check of the step's loss can stop there;
    # class 0 costs 0. The lecture kernel stops at step 1; so must the fast ones.
    net = MLP([1, 2], output="softmax", loss="ce", seed=0)
    net.weights(0)[:] = 0.0
    net.biases(0)[:] = [1e308, -1e308]
    Xc, Tc = check_batch(net, np.zeros((3, 1)), np.array([0, 1, 0]))
    order = np.arange(3)
    runs = {"lecture": lambda *args: scalar.lecture_epoch(*args[:4], 1, *args[4:]),
            "fused": scalar_fast.sgd_epoch,
            "blocked": lambda *args: scalar_fast.sgd_epoch_blocked(*args, block=2)}
    for name, run in runs.items():
        got, step_loss = net.copy(), np.zeros(3)
        with np.errstate(over="ignore"):        # uncompiled, -1e308 - 1e308 warns
            assert run(got, Xc, Tc, order, 0.1, step_loss) == 1, name
        assert step_loss[0] == 0.0 and step_loss[1] == np.inf, name
        np.testing.assert_array_equal(got.params, net.params, err_msg=name)


def test_a_last_step_whose_gradient_overflows_is_found_by_every_sgd_kernel():
    # the last step's loss (y - t)^2 = 1e300 is finite, its gradient 2 (y - t) x = 2e350 is
    # not: only a check of the gradient (the lecture kernel) or of the parameters after the
    # epoch (the fast ones) sees it. All must stop there, the parameters as before the step.
    net = MLP([1, 1], output="identity", loss="squared", seed=0)
    net.weights(0)[:] = 1e-50
    net.biases(0)[:] = 0.0
    Xc, Tc = check_batch(net, np.array([[1.0], [1e200]]), np.zeros((2, 1)))
    order = np.arange(2)
    want = net.copy()
    assert scalar.lecture_epoch(want, Xc[:1], Tc[:1], order[:1], 1, 0.1, np.zeros(1)) == -1
    runs = {"lecture": lambda *args: scalar.lecture_epoch(*args[:4], 1, *args[4:]),
            "fused": scalar_fast.sgd_epoch,
            "blocked": lambda *args: scalar_fast.sgd_epoch_blocked(*args, block=2),
            "vectorized": lambda *args: vectorized.lecture_epoch(*args[:4], 1, *args[4:]),
            "vectorized_fast": lambda *args: vectorized.train_epoch(*args[:4], 1, *args[4:])}
    for name, run in runs.items():
        got = net.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            assert run(got, Xc, Tc, order, 0.1, np.zeros(2)) == 1, name
        np.testing.assert_array_equal(got.params, want.params, err_msg=name)


@pytest.mark.parametrize("params", [[[1.0, 2.0], [3.0]], [1.0, [2.0]]])
def test_loss_at_refuses_parameters_that_are_no_array(params):
    net = MLP([1, 1], output="identity", loss="squared", seed=0)
    with pytest.raises(ValueError, match="params: cannot be read as a numeric array"):
        vectorized.loss_at(net, params, np.ones((1, 1)), np.ones((1, 1)))
