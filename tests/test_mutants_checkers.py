"""Cases that mutation testing (docs/mutation-testing.md) showed no other test pins down in
checks/gradcheck.py and checks/comparison.py: what the checkers accept, refuse and report."""

import numpy as np
import pytest
from cases import make_case
from test_compare_engines_says_no import seeded

from scalarprop import MLP, check_gradients, compare_engines, vectorized
from scalarprop.checks.gradcheck import GradientCheck


def relu_at_a_kink(sign=1.0):
    """relu units whose pre-activation is exactly 0 for the one example: b1's slopes jump
    (from 0 to a slope of the sign of ``sign``, for these weights)."""
    net = MLP([2, 3, 3, 1], hidden="relu", seed=1)
    net.biases(0)[:] = 0.0
    net.biases(1)[:] = 0.0
    net.weights(0)[:] = -np.abs(net.weights(0))
    net.weights(2)[:] *= sign
    return net, np.array([[1.0, 2.0]]), np.array([[0.5]])


RULES = {"auto": {}, "fixed": {"atol": 1e-5, "rtol": 1e-3}}


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("rule", RULES)
def test_a_kink_is_flagged_and_not_failed(rule, sign):
    # backprop takes relu'(0) = 0: the slope of the flat side, the lower or the upper one
    net, X, T = relu_at_a_kink(sign)
    result = check_gradients(net, X, T, **RULES[rule])
    assert result.ok and result.kinks, str(result)
    assert set(result.kinks) <= {f"b1[{j}]" for j in range(3)}
    q = [net.param_index(name) for name in result.kinks]
    slopes = sign * np.array([result.forward_quotient[q], result.backward_quotient[q]])
    assert (slopes.max(axis=0) > 0).all()        # the other side's slope has that sign


def test_the_fixed_rule_flags_no_kink_on_a_smooth_network():
    # a kink is a jump of the one-sided slopes, not any difference between them
    smooth = check_gradients(*make_case("sigmoid", "identity", "squared", 2, seed=3),
                             atol=1e-5, rtol=1e-3)
    assert smooth.ok and not smooth.kinks, str(smooth)


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, np.inf, np.nan, True, "1e-6", [1e-6]])
@pytest.mark.parametrize("rule", RULES)
def test_a_bad_step_is_refused(eps, rule):
    net, X, T = make_case("tanh", "identity", "squared", 1)
    with pytest.raises(ValueError, match="eps="):
        check_gradients(net, X, T, eps=eps, **RULES[rule])


@pytest.mark.parametrize("eps", [1e-6, 1e-4, np.float32(1e-3), 1])
def test_a_good_step_is_taken(eps):
    # identity units and the squared loss: quadratic in each parameter, so the central
    # difference is exact at any step, even 1
    net, X, T = make_case("identity", "identity", "squared", 1)
    result = check_gradients(net, X, T, eps=eps, atol=1e-4, rtol=1e-2)
    assert result.ok and result.eps == eps, str(result)


def test_a_report_of_more_than_40_parameters_shows_a_selection_and_says_so():
    for sizes, shown in (([1, 13, 1], True), ([6, 5, 1], False)):    # 40 and 41 parameters
        net = MLP(sizes, hidden="tanh", seed=0)
        rng = np.random.default_rng(0)
        text = str(check_gradients(net, rng.normal(size=(2, sizes[0])),
                                   rng.normal(size=(2, 1))))
        assert all(name in text for name in net.param_names) == shown
        assert (f"of {net.num_params} rows shown" in text) != shown, text


@pytest.mark.parametrize("hidden,loss,parts", [
    ("relu", "squared", "hidden='relu' is not"),
    ("relu", "absolute", "hidden='relu' and loss='absolute' are not"),
])
def test_the_complex_step_names_what_is_not_analytic(hidden, loss, parts):
    net, X, T = make_case(hidden, "identity", loss, 1, seed=2)
    result = check_gradients(net, X, T, method="complex_step")
    assert parts in result.note, result.note


@pytest.mark.parametrize("rule", RULES)
def test_a_wrong_gradient_at_a_kink_is_not_excused(monkeypatch, rule):
    # at a kink backprop may take either one-sided slope (or one between); a value outside
    # them is wrong, kink or not
    net, X, T = relu_at_a_kink()
    rule = RULES[rule]
    good = check_gradients(net, X, T, engine="vectorized", **rule)
    assert good.ok and good.kinks, str(good)
    q = net.param_index(good.kinks[0])
    off = 10 * (abs(good.forward_quotient[q]) + abs(good.backward_quotient[q])) + 1.0
    real = vectorized.loss_and_grad

    def wrong_at_the_kink(net_, X_, T_):
        loss, grad = real(net_, X_, T_)
        grad[q] += off
        return loss, grad

    monkeypatch.setattr(vectorized, "loss_and_grad", wrong_at_the_kink)
    result = check_gradients(net, X, T, engine="vectorized", **rule)
    assert result.failures == [good.kinks[0]], str(result)


@pytest.mark.parametrize("scale", [1.0, 300.0])
@pytest.mark.parametrize("rule", RULES)
def test_a_relu_network_away_from_its_kinks_has_none(rule, scale):
    # every hidden pre-activation at least 1e-3 from 0, far beyond both steps (<= 3e-5);
    # at scale 300 the gradients reach ~1e6 and the one-sided slopes differ by curvature
    net, X, T = make_case("relu", "identity", "squared", 2, seed=4)
    X = X * scale
    for K, _ in vectorized.forward(net, X)[:-1]:
        assert np.abs(K).min() > 1e-3
    result = check_gradients(net, X, T, **RULES[rule])
    assert result.ok and not result.kinks, str(result)


def test_the_report_shows_the_worst_the_first_20_failures_and_the_first_10_kinks():
    P = 60
    numeric = np.linspace(1.0, 2.0, P)
    error = np.zeros(P)
    error[:25] = 1e-3 * (25 - np.arange(25))        # 25 failures, the worst first
    kinks = np.zeros(P, dtype=bool)
    kinks[30:45] = True                             # 15 kinks
    check = GradientCheck("scalar", [f"p{i}" for i in range(P)], numeric + error, numeric,
                          numeric, numeric, error > 1e-5, kinks, 1e-5, 0.0, 1e-6)
    names = set(check.names)
    shown = [line.split()[0] for line in str(check).splitlines()
             if line.split() and line.split()[0] in names]
    assert shown == [f"p{i}" for i in list(range(20)) + list(range(30, 40))]
    assert "(30 of 60 rows shown" in str(check)


def test_the_complex_step_falls_back_to_the_fixed_rule_with_its_step():
    net, X, T = make_case("relu", "identity", "squared", 1, seed=2)
    result = check_gradients(net, X, T, method="complex_step", atol=1e-5, rtol=1e-3)
    assert result.ok and result.eps == 1e-6 and "fell back" in result.note, str(result)
    result = check_gradients(net, X, T, method="complex_step", atol=1e-5, rtol=1e-3, eps=1e-7)
    assert result.ok and result.eps == 1e-7, str(result)


def test_the_fixed_rule_takes_its_bound_inclusively():
    # hinge loss 1 - t y on its linear side, dyadic numbers and a step of 2^-10: the central
    # difference is exact (-x t = -0.5 for W), so it meets atol = rtol = 0 with equality
    net = MLP([1, 1], output="identity", loss="hinge", seed=0)
    net.weights(0)[:] = 0.25
    net.biases(0)[:] = 0.0
    X, T = np.array([[0.5]]), np.array([[1.0]])
    result = check_gradients(net, X, T, atol=0.0, rtol=0.0, eps=2.0 ** -10)
    np.testing.assert_array_equal(result.numeric, [-0.5, -1.0])
    assert result.ok, str(result)


# -- compare_engines ------------------------------------------------------------------------

def off(key, relative, index=(0, 0)):
    """A change that moves one element of node ``key`` by ``relative`` of itself."""
    def change(nodes, net):
        nodes[key] = np.array(nodes[key], dtype=float)
        nodes[key][index] *= 1 + relative
    return change


def test_the_unused_dl_dy_of_ce_is_held_to_its_own_scale(monkeypatch):
    # ce's dl/dy = -1/y_t is measured on its own scale (it can be huge); 1e-9 of it is still
    # a disagreement there, although its value row (y) agrees exactly
    net, X, T = make_case("tanh", "softmax", "ce", 1, seed=6)
    target = int(T[0])
    seeded(monkeypatch, off("h2_grad", 1e-9, (0, target)))
    cmp = compare_engines(net, X, T)
    assert not cmp.ok(1e-12) and cmp.ok(1e-6), str(cmp)
    assert not cmp.ok() and cmp.rows["h2"][0] <= 1e-15 * cmp.value_scale


def test_a_tolerance_is_inclusive_and_defaults_to_1e_12():
    net, X, T = make_case("tanh", "softmax", "ce", 1, seed=6)
    same = compare_engines(net, X, T, engines=("vectorized", "vectorized"))
    assert same.max_rel == 0.0 and same.ok(0.0) and same.ok()


def test_all_zero_gradients_agree():
    # a hinge satisfied by every example (t y > 1): every gradient is exactly 0 in both engines
    net = MLP([2, 3, 1], hidden="tanh", output="identity", loss="hinge", seed=0)
    net.biases(1)[:] = 5.0
    net.weights(1)[:] = 0.1
    X, T = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([[1.0], [1.0]])
    cmp = compare_engines(net, X, T)
    assert cmp.grad_scale == 0.0 and cmp.ok(), str(cmp)
    assert cmp.rows["k1"][1] == cmp.param_diff.max() == 0.0


def test_a_small_pass_is_measured_on_its_own_small_scale(monkeypatch):
    # every value and gradient far below 1: relative means relative to them, not to 1
    net, X, T = make_case("tanh", "identity", "squared", 1, seed=2)
    net.params[:] *= 1e-4
    X, T = X * 1e-4, T * 1e-8
    seeded(monkeypatch, off("h1", 1e-9))
    cmp = compare_engines(net, X, T)
    assert cmp.value_scale < 1e-3 and not cmp.ok(1e-12), str(cmp)
    seeded(monkeypatch, off("grad", 1e-9, 0))
    assert not compare_engines(net, X, T).ok(1e-12)


def test_non_finite_entries_are_counted_and_the_first_is_named(monkeypatch):
    net, X, T = make_case("tanh", "identity", "squared", 1, seed=2)

    def two_nans(nodes, net):
        nodes["k1"] = np.array(nodes["k1"], dtype=float)
        nodes["k1"][1, 2] = nodes["k1"][3, 0] = np.nan

    seeded(monkeypatch, two_nans)
    problem = compare_engines(net, X, T).problems[0]
    assert problem == "k1[1, 2] is nan in vectorized (2 non-finite entries in k1)"
    monkeypatch.undo()
    seeded(monkeypatch, off("k1", np.inf, (2, 1)))
    problem = compare_engines(net, X, T).problems[0]
    assert problem.startswith("k1[2, 1] is ") and problem.endswith("inf in vectorized (1 "
                                                                "non-finite entry in k1)")


def test_a_shape_mismatch_names_each_engine_with_its_shape(monkeypatch):
    net, X, T = make_case("tanh", "identity", "squared", 1, seed=2)
    seeded(monkeypatch, lambda nodes, net: nodes.update(h1=nodes["h1"][:, :-1]))
    problem = compare_engines(net, X, T).problems[0]
    assert problem == "node h1 has shape (5, 4) in scalar but (5, 3) in vectorized"
