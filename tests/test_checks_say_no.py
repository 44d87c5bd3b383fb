"""Every gradient checker can say no: NaN, inf, a tiny relative error, a wrong element and a
shape mismatch are refused, and the report names the element.

Oracles: finite differences and the complex step of the function itself; each defect is
planted in an otherwise correct gradient.
"""

import numpy as np
import pytest
from cases import SIN_X, make_case, sin_x2, sin_x2_grad
from scalarprop.testing import (
    GradientMismatchError,
    assert_gradients_close,
    assert_vjp_close,
)

from scalarprop import MLP, check_gradients, vectorized

F, G, X = sin_x2, sin_x2_grad, SIN_X


def planted(index, value=None, relative=None):
    g = G(X)
    g[index] = value if relative is None else g[index] * (1 + relative)
    return g


# -- assert_gradients_close -------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fast", [False, True])
def test_assert_gradients_close_refuses_non_finite(value, fast):
    with pytest.raises(GradientMismatchError) as info:
        assert_gradients_close(F, X, planted((2, 1), value), fast=fast)
    assert info.value.failing[0] == (2, 1)


def test_assert_gradients_close_sees_one_element_off_by_1e9_relative():
    # the complex step is exact to rounding, so its automatic tolerance is ~1e-14 relative
    with pytest.raises(GradientMismatchError) as info:
        assert_gradients_close(F, X, planted((0, 3), relative=1e-9), method="complex_step")
    assert info.value.failing == [(0, 3)]
    assert_gradients_close(F, X, G(X), method="complex_step")


def test_differences_see_one_element_off_by_1e7_relative():
    # central differences at two steps: resolved to ~1e-9 here (torch's tolerance: 1e-3)
    with pytest.raises(GradientMismatchError) as info:
        assert_gradients_close(F, X, planted((1, 1), relative=1e-7))
    assert info.value.failing == [(1, 1)]
    assert_gradients_close(F, X, planted((1, 1), relative=1e-7), atol=1e-5, rtol=1e-3)


def test_a_wrong_element_is_named_with_its_estimated_error():
    with pytest.raises(GradientMismatchError) as info:
        assert_gradients_close(F, X, planted((1, 2), relative=-2.0),
                               names=[f"p{i}" for i in range(12)])
    assert info.value.worst_name == "p6"
    message = str(info.value)
    assert "est err" in message and "tolerance auto" in message
    row = next(line for line in message.splitlines() if line.strip().startswith("p6"))
    assert float(row.split()[5]) < 1e-8        # the estimated error, beside the actual 1e0


def test_a_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="grad: expected the shape of x"):
        assert_gradients_close(F, X, G(X).ravel())
    with pytest.raises(ValueError, match=r"vjp\(v\): expected the shape of x"):
        assert_vjp_close(np.sin, X, np.ones((3, 4)), np.ones(12))


# -- assert_vjp_close -------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_assert_vjp_close_refuses_non_finite(value):
    v = np.random.default_rng(0).normal(size=(3, 4))
    right = v * np.cos(X)
    assert_vjp_close(np.sin, X, v, right)
    wrong = right.copy()
    wrong[0, 0] = value
    with pytest.raises(GradientMismatchError) as info:
        assert_vjp_close(np.sin, X, v, wrong)
    assert info.value.failing == [(0, 0)]


def test_assert_vjp_close_sees_1e9_relative_with_the_complex_step():
    v = np.random.default_rng(1).normal(size=(3, 4))
    wrong = v * np.cos(X)
    wrong[2, 3] *= 1 + 1e-9
    with pytest.raises(GradientMismatchError) as info:
        assert_vjp_close(np.sin, X, v, wrong, method="complex_step")
    assert info.value.failing == [(2, 3)]


# -- check_gradients ---------------------------------------------------------------------------

def broken_engine(monkeypatch, change):
    real = vectorized.loss_and_grad

    def loss_and_grad(net, X, T):
        loss, grad = real(net, X, T)
        return change(loss, grad.copy(), net)

    monkeypatch.setattr(vectorized, "loss_and_grad", loss_and_grad)


@pytest.fixture
def case():
    return make_case("tanh", "softmax", "ce", 2, seed=11)


def at(name, value):
    def change(loss, grad, net):
        grad[net.param_index(name)] = value
        return loss, grad
    return change


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fast", [False, True])
def test_check_gradients_refuses_non_finite(monkeypatch, case, value, fast):
    broken_engine(monkeypatch, at("W1[2,1]", value))
    result = check_gradients(*case, engine="vectorized", fast=fast)
    assert not result.ok
    assert result.failures[0] == "W1[2,1]", str(result)


def test_check_gradients_refuses_a_non_finite_loss(monkeypatch, case):
    monkeypatch.setattr(vectorized, "loss", lambda net, X, T: np.nan)
    result = check_gradients(*case, engine="vectorized")
    assert not result.ok and len(result.failures) == case[0].num_params


def test_check_gradients_sees_1e9_relative_with_the_complex_step(monkeypatch, case):
    def change(loss, grad, net):
        grad[net.param_index("b1[3]")] *= 1 + 1e-9
        return loss, grad
    broken_engine(monkeypatch, change)
    result = check_gradients(*case, engine="vectorized", method="complex_step")
    assert result.failures == ["b1[3]"], str(result)


def test_check_gradients_names_a_sign_flip(monkeypatch, case):
    def change(loss, grad, net):
        grad[net.param_index("b0[1]")] *= -1
        return loss, grad
    broken_engine(monkeypatch, change)
    for fast in (False, True):
        result = check_gradients(*case, engine="vectorized", fast=fast)
        assert result.failures == ["b0[1]"], str(result)


def test_check_gradients_refuses_a_gradient_of_the_wrong_shape(monkeypatch, case):
    broken_engine(monkeypatch, lambda loss, grad, net: (loss, grad[:-1]))
    with pytest.raises(ValueError, match="gradient of shape"):
        check_gradients(*case, engine="vectorized")


# -- the automatic tolerance where torch's is too loose ----------------------------------------

def small_sigmoid_net(seed):
    net = MLP([3, 4, 4, 4, 2], "sigmoid", seed=seed)
    net.params[:] *= 0.1
    rng = np.random.default_rng(seed)
    # targets near the outputs: small output gradients, so W0's is ~1e-6
    return net, rng.normal(size=(5, 3)), rng.uniform(0.0, 0.1, size=(5, 2))


def test_a_zeroed_W0_block_is_caught_in_20_of_20_draws(monkeypatch):
    # 3-4-4-4-2 sigmoid networks, weights scaled by 0.1: W0's gradient is ~1e-5, under
    # torch's atol; the central difference's own error is ~1e-11
    caught = passed = missed_by_fixed = 0
    real = vectorized.loss_and_grad
    for seed in range(20):
        net, X, T = small_sigmoid_net(seed)
        passed += check_gradients(net, X, T, engine="vectorized").ok
        with monkeypatch.context() as m:
            def zeroed(net_, X_, T_):
                loss, grad = real(net_, X_, T_)
                grad[net_.layer_slices(0)[0]] = 0.0
                return loss, grad
            m.setattr(vectorized, "loss_and_grad", zeroed)
            result = check_gradients(net, X, T, engine="vectorized")
            caught += set(result.failures) <= {n for n in net.param_names if n[:2] == "W0"} \
                and not result.ok
            missed_by_fixed += check_gradients(net, X, T, engine="vectorized", atol=1e-5,
                                               rtol=1e-3).ok
    assert (caught, passed) == (20, 20)
    assert missed_by_fixed > 0           # the fixed tolerance is what this replaces
