"""The lecture's worked numbers (slides 41-44), held against both engines."""

import numpy as np
import pytest

from scalarprop import scalar, vectorized
from scalarprop.examples import lecture_network

ENGINES = [scalar, vectorized]


def lecture_net():
    """2-3-1 sigmoid network whose forward pass gives h2 = .99 and y = 10.1."""
    net, x, t = lecture_network()
    h = 1 / (1 + np.exp(-(net.weights(0) @ x + net.biases(0))))
    return net, x, t, h


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.__name__.split(".")[-1])
def test_dl_dv2_is_minus_3_96(engine):
    net, x, t, h = lecture_net()
    assert h[1] == pytest.approx(0.99, abs=1e-15)
    assert net.predict(x)[0] == pytest.approx(10.1, abs=1e-13)
    loss, grad = engine.loss_and_grad(net, x[None], t[None])
    assert loss == pytest.approx(4.0, abs=1e-12)           # (10.1 - 12.1)^2
    v2 = net.param_index("W1[0,1]")
    assert grad[v2] == pytest.approx(-3.96, abs=1e-12)      # 2(y - t) h2 = 2(-2)(.99)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.__name__.split(".")[-1])
def test_dl_dw12_is_the_product_of_local_derivatives(engine):
    net, x, t, h = lecture_net()
    y = 10.1
    v2 = net.weights(1)[0, 1]
    by_hand = 2 * (y - t[0]) * v2 * h[1] * (1 - h[1]) * x[0]
    _, grad = engine.loss_and_grad(net, x, t)
    # the lecture's w12 (input 1 to hidden 2) is W[1, 0] here
    assert grad[net.param_index("W0[1,0]")] == pytest.approx(by_hand, rel=1e-12, abs=1e-15)
    assert by_hand == pytest.approx(2 * -2.0 * -2.0 * 0.99 * 0.01 * -1.0, rel=1e-12)


def test_both_engines_give_the_same_nodes_on_the_lecture_net():
    from scalarprop import compare_engines

    net, x, t, _ = lecture_net()
    cmp = compare_engines(net, x, t)
    assert cmp.ok(1e-12), str(cmp)
    assert "h1" in str(cmp) and "loss" in str(cmp)
