"""The complex step through the network: against both engines' backprop, seeded bugs in a
hand-written backprop, and the README's example run as written."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from cases import HEADS, SMOOTH_HEADS, make_case
from scalarprop.testing import (
    GradientMismatchError,
    assert_gradients_close,
    complex_step_gradient,
)

from scalarprop import MLP, check_gradients, vectorized
from scalarprop.examples import lecture_network

SMOOTH_HIDDEN = ("sigmoid", "tanh", "identity")
SMOOTH_CASES = [(h, o, l, d) for d in range(4) for h in (SMOOTH_HIDDEN if d else ("sigmoid",))
                for o, l in SMOOTH_HEADS]


@pytest.mark.parametrize("hidden,output,loss,depth", SMOOTH_CASES)
@pytest.mark.parametrize("engine", ["scalar", "vectorized"])
def test_complex_step_agrees_with_backprop_to_1e13(hidden, output, loss, depth, engine):
    net, X, T = make_case(hidden, output, loss, depth, seed=30 + depth, n=6, width=5)
    before = net.params.copy()
    result = check_gradients(net, X, T, engine=engine, method="complex_step")
    assert result.method == "complex_step" and result.ok, str(result)
    assert not result.at_kink.any()
    scale = np.abs(result.analytic).max()
    assert np.abs(result.numeric - result.analytic).max() <= 1e-13 * scale, str(result)
    assert np.array_equal(net.params, before)


@pytest.mark.parametrize("output,loss", SMOOTH_HEADS)
def test_the_network_passes_the_general_complex_safety_check(output, loss):
    # complex_step_gradient verifies f against finite differences: loss_at is complex-safe
    net, X, T = make_case("tanh", output, loss, 2, seed=3)
    cs = complex_step_gradient(lambda p: vectorized.loss_at(net, p, X, T), net.params)
    _, grad = vectorized.loss_and_grad(net, X, T)
    assert np.abs(cs - grad).max() <= 1e-13 * np.abs(grad).max()


@pytest.mark.parametrize("output,loss", [("sigmoid", "bce"), ("softmax", "ce"),
                                         ("sigmoid", "squared")])
def test_complex_step_stays_stable_for_large_pre_activations(output, loss):
    # k of several hundred: the stable branches (chosen on Re k) keep e^x from overflowing
    net, X, T = make_case("sigmoid", output, loss, 1, seed=5)
    net.params[:] *= 150.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # an overflow would warn
        result = check_gradients(net, X, T, engine="vectorized", method="complex_step")
    Z = vectorized.forward(net, X)[-1][0]
    assert np.abs(Z).max() > 50
    scale = np.abs(result.analytic).max()
    assert np.abs(result.numeric - result.analytic).max() <= 1e-13 * scale, str(result)


@pytest.mark.parametrize("hidden,output,loss", [
    ("relu", "identity", "squared"), ("sigmoid", "identity", "absolute"),
    ("tanh", "softmax", "absolute"), ("relu", "identity", "hinge")])
def test_kinked_networks_fall_back_to_central_differences_and_say_so(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 2, seed=7)
    result = check_gradients(net, X, T, method="complex_step")
    assert result.method == "central" and result.ok, str(result)
    assert "fell back to central differences" in result.note
    assert "note: the complex step needs an analytic loss" in str(result)
    central = check_gradients(net, X, T, method="central")
    assert np.array_equal(result.numeric, central.numeric)


def test_a_perceptron_has_no_hidden_layer_so_its_hidden_name_does_not_matter():
    net = MLP([3, 2], hidden="relu", output="sigmoid", loss="bce", seed=0)
    X = np.random.default_rng(0).normal(size=(4, 3))
    T = np.random.default_rng(1).integers(0, 2, size=(4, 2))
    result = check_gradients(net, X, T, method="complex_step")
    assert result.method == "complex_step" and result.ok, str(result)


def test_complex_step_check_reports_the_wrong_parameter(monkeypatch):
    net, X, T = make_case("sigmoid", "softmax", "ce", 1, seed=2)
    real = vectorized.loss_and_grad
    q = net.param_index("W1[2,3]")

    def broken(net_, X_, T_):
        loss, grad = real(net_, X_, T_)
        grad[q] *= 1 + 1e-7                    # far below what central differences resolve
        return loss, grad

    monkeypatch.setattr(vectorized, "loss_and_grad", broken)
    assert check_gradients(net, X, T, engine="vectorized", atol=1e-5, rtol=1e-3).ok
    # the automatic tolerance is tight enough to see it
    assert check_gradients(net, X, T, engine="vectorized").failures == ["W1[2,3]"]
    # exact to rounding, the complex step affords a tolerance of 1e-12
    result = check_gradients(net, X, T, engine="vectorized", method="complex_step", atol=0,
                             rtol=1e-12)
    assert result.failures == ["W1[2,3]"] and result.worst == "W1[2,3]"
    with pytest.raises(AssertionError, match=r"W1\[2,3\] .* FAIL"):
        check_gradients(net, X, T, engine="vectorized", method="complex_step", atol=0,
                        rtol=1e-12, raise_on_failure=True)


# -- loss_at ----------------------------------------------------------------------------------


@pytest.mark.parametrize("output,loss", HEADS)
@pytest.mark.parametrize("hidden", ["sigmoid", "relu", "tanh", "identity"])
def test_loss_at_float_is_the_engines_loss_bit_for_bit(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 2, seed=11)
    assert vectorized.loss_at(net, net.params.copy(), X, T) == vectorized.loss(net, X, T)
    other = net.params + np.random.default_rng(0).normal(scale=0.5, size=net.num_params)
    before = net.params.copy()
    value = vectorized.loss_at(net, other, X, T)
    assert np.array_equal(net.params, before)               # not read, not written
    net.params = other
    assert value == vectorized.loss(net, X, T)


@pytest.mark.parametrize("output,loss", SMOOTH_HEADS)
def test_loss_at_complex_real_part_is_the_loss(output, loss):
    net, X, T = make_case("tanh", output, loss, 1, seed=4)
    value = vectorized.loss_at(net, net.params.astype(complex), X, T)
    assert isinstance(value, complex) and value.imag == 0.0
    assert value.real == pytest.approx(vectorized.loss(net, X, T), rel=1e-14)


@pytest.mark.parametrize("hidden,output,loss", [
    ("relu", "identity", "squared"), ("sigmoid", "sigmoid", "absolute"),
    ("tanh", "identity", "hinge")])
def test_loss_at_refuses_complex_params_for_kinked_networks(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 1)
    with pytest.raises(ValueError, match="complex-safe network"):
        vectorized.loss_at(net, net.params.astype(complex), X, T)


def test_loss_at_bad_params():
    net, X, T = make_case("sigmoid", "identity", "squared", 1)
    with pytest.raises(ValueError, match=rf"params: expected shape \({net.num_params},\)"):
        vectorized.loss_at(net, net.params[:-1], X, T)
    with pytest.raises(ValueError, match="params: dtype"):
        vectorized.loss_at(net, np.array(["a"] * net.num_params), X, T)
    bad = net.params.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match=r"params\[3\] = nan"):
        vectorized.loss_at(net, bad, X, T)
    with pytest.raises(ValueError, match="X: expected shape"):
        vectorized.loss_at(net, net.params, X[:, :2], T)


# -- seeded bugs in a hand-written backprop (lecture part 3) ---------------------------------


def student_backprop(net, X, T, bug=None):
    """The lecture's 2-layer backward over a batch, as a student writes it, with one bug."""
    W, b, V, c = net.weights(0), net.biases(0), net.weights(1), net.biases(1)
    K = X @ W.T + b
    H = 1 / (1 + np.exp(-K))
    Y = H @ V.T + c
    Y_grad = 2 * (Y - T)                                   # squared loss
    V_grad, c_grad = Y_grad.T @ H, Y_grad.sum(axis=0)
    H_grad = Y_grad @ V
    if bug == "sigmoid":
        K_grad = H_grad * (1 / (1 + np.exp(-K))) * (1 / (1 + np.exp(-(1 - K))))
    else:
        K_grad = H_grad * H * (1 - H)                      # σ'(k) = h (1 − h)
    W_grad = X.T @ K_grad if bug == "transposed" else K_grad.T @ X
    b_grad = K_grad.sum(axis=0)
    if bug == "no bias":
        b_grad = np.zeros_like(b_grad)
    return np.concatenate([W_grad.ravel(), b_grad, V_grad.ravel(), c_grad])


def lecture_batch():
    net, x, t = lecture_network()                          # the slides' 2-3-1 network
    return net, x.reshape(1, 2), t.reshape(1, 1)


def assert_student(net, X, T, bug, method="complex_step"):
    assert_gradients_close(lambda p: vectorized.loss_at(net, p, X, T), net.params,
                           student_backprop(net, X, T, bug), method=method,
                           names=net.param_names)


@pytest.mark.parametrize("method", ["complex_step", "central", "richardson"])
def test_the_correct_student_backprop_passes(method):
    net, X, T = lecture_batch()
    assert_student(net, X, T, None, method)
    net, X, T = make_case("sigmoid", "identity", "squared", 1, seed=8, n=7)
    assert_student(net, X, T, None, method)


def test_wrong_sigmoid_derivative_fails_exactly_the_first_layer():
    net, X, T = lecture_batch()
    with pytest.raises(GradientMismatchError) as info:
        assert_student(net, X, T, "sigmoid")
    names = net.param_names
    failing = {names[i] for (i,) in info.value.failing}
    assert failing == {n for n in names if n.startswith(("W0", "b0"))}
    assert info.value.worst_name.startswith(("W0", "b0"))
    assert "W0[1,0]" in str(info.value) and "FAIL" in str(info.value)


def test_transposed_weight_gradient_fails_where_the_layout_moved_values():
    net, X, T = make_case("sigmoid", "identity", "squared", 1, seed=9, n=6)  # W0 is 4 x 3
    with pytest.raises(GradientMismatchError) as info:
        assert_student(net, X, T, "transposed")
    # flat slot p holds W0∇[p // 3, p % 3] but got (W0∇ᵀ)[p // 4, p % 4] = W0∇[p % 4, p // 4]:
    # the two agree only at the first and the last slot
    moved = {f"W0[{p // 3},{p % 3}]" for p in range(12) if (p // 3, p % 3) != (p % 4, p // 4)}
    assert len(moved) == 10
    names = net.param_names
    assert {names[i] for (i,) in info.value.failing} == moved
    assert info.value.worst_name in moved


@pytest.mark.parametrize("method", ["complex_step", "central"])
def test_missing_bias_gradient_is_reported_by_name(method):
    net, X, T = lecture_batch()
    with pytest.raises(GradientMismatchError) as info:
        assert_student(net, X, T, "no bias", method)
    names = net.param_names
    assert {names[i] for (i,) in info.value.failing} == {"b0[0]", "b0[1]", "b0[2]"}
    msg = str(info.value)
    assert msg.startswith("gradient check failed: 3 of 13 elements")
    row = next(r for r in msg.splitlines() if r.strip().startswith("b0[1]")
               and r.endswith("FAIL"))
    assert float(row.split()[1]) == 0.0                    # the student's zero, shown


# -- the README's example, run as written ----------------------------------------------------


def readme_section():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start, end = text.index("<!-- section:testing -->"), text.index("<!-- /section:testing -->")
    section = text[start:end]
    return (re.findall(r"```python\n(.*?)```", section, re.S),
            re.findall(r"```text\n(.*?)\n```", section, re.S))


def test_readme_example_catches_the_wrong_sigmoid_derivative():
    blocks, outputs = readme_section()
    assert len(blocks) == 4 and len(outputs) == 1
    ns: dict = {}
    exec(compile(blocks[0], "README.md[testing, block 1]", "exec"), ns)
    with pytest.raises(GradientMismatchError) as info:
        ns["test_sigmoid_backward"]()
    assert str(info.value) == outputs[0]                   # the README shows the real message
    assert len(info.value.failing) == 5
    exec(compile(blocks[1], "README.md[testing, block 2]", "exec"), ns)   # the fix
    ns["test_sigmoid_backward"]()
    exec(compile(blocks[2], "README.md[testing, block 3]", "exec"), {})   # the network form


def test_readme_property_test_runs_and_can_fail(monkeypatch):
    blocks, _ = readme_section()
    source = blocks[3]
    assert "def test_backprop_matches_finite_differences(net, data):" in source
    body = source.split("def test_backprop_matches_finite_differences(net, data):")[1]
    assert len([line for line in body.splitlines() if line.startswith("    ")]) == 2
    exec(compile(source, "README.md[testing, block 4]", "exec"), {})      # runs, passes
    real = vectorized.loss_and_grad

    def sign_flipped(net, X, T):
        loss, grad = real(net, X, T)
        return loss, -grad

    monkeypatch.setattr(vectorized, "loss_and_grad", sign_flipped)
    with pytest.raises(AssertionError):
        exec(compile(source, "README.md[testing, block 4]", "exec"), {})
