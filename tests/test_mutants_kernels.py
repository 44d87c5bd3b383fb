"""Cases that mutation testing (docs/mutation-testing.md) showed no other test pins down in the
kernels: each is held to a worked number or to another engine."""

import math

import numpy as np
import pytest

from scalarprop import MLP, scalar, vectorized


def logits_net(b, output="softmax", loss="ce"):
    """A one-layer network on a zero input: its logits are its biases ``b``."""
    net = MLP([1, len(b)], output=output, loss=loss, seed=0)
    net.weights(0)[:] = 0.0
    net.biases(0)[:] = b
    return net


@pytest.mark.parametrize("engine", [scalar, vectorized])
@pytest.mark.parametrize("top", [0, 1, 2])
def test_softmax_and_ce_take_the_largest_logit_wherever_it_is(engine, top):
    # logits 0, 0 and 800 (at `top`): softmax subtracts the largest before e^z, so y is
    # exactly one-hot and ce is exact: 800 - z_t (+ log(1 + 2e^-800), which rounds away)
    b = np.zeros(3)
    b[top] = 800.0
    net = logits_net(b)
    X = np.zeros((1, 1))
    for t, want in ((top, 0.0), ((top + 1) % 3, 800.0)):
        nodes = engine.nodes(net, X, np.array([t]))
        np.testing.assert_array_equal(nodes["h1"][0], np.eye(3)[top])
        assert nodes["loss"] == want
        # dl/dk = y - onehot(t), the bias gradient of a one-layer net
        np.testing.assert_array_equal(nodes["grad"][-3:], np.eye(3)[top] - np.eye(3)[t])
    # dl/dy_t = -1/y_t = -e^(lse - z_t): -1 at the top class
    nodes = engine.nodes(net, X, np.array([top]))
    assert nodes["h1_grad"][0, top] == -1.0


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
