"""Cases that mutation testing (docs/mutation-testing.md) showed no other test pins down in the
testing oracle (scalarprop.testing): what its checks refuse, and what their messages say."""

import importlib
import re
import sys

import numpy as np
import pytest
from cases import SIN_X, sin_x2, sin_x2_grad
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from scalarprop.testing import (
    GradientMismatchError,
    NotComplexSafeError,
    assert_gradients_close,
    assert_hvp_close,
    assert_per_example_gradients_close,
    complex_step_gradient,
    gradient_estimate,
    numerical_gradient,
    numerical_hessian,
    numerical_jacobian,
)
from scalarprop.testing.strategies import HEADS, batches, networks

from scalarprop import MLP, check_gradients, vectorized
from scalarprop.functions import HIDDEN

F, G, X = sin_x2, sin_x2_grad, SIN_X


def test_a_non_finite_x_is_refused_with_where_it_is():
    x = X.copy()
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"x: contains NaN or inf \(first at \[1, 2\], "):
        assert_gradients_close(F, x, G(X))
    with pytest.raises(ValueError, match=r"x: contains NaN or inf \(first at the value, "):
        assert_gradients_close(F, np.inf, 0.0)
    x[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"x: contains NaN or inf \(first at \[1, 2\], "):
        assert_gradients_close(F, x, G(X))


@pytest.mark.parametrize("name", ["atol", "rtol"])
@pytest.mark.parametrize("value", ["1e-5", object(), [1e-5], True, -1e-5, np.nan])
def test_a_tolerance_that_is_no_number_is_refused(name, value):
    with pytest.raises(ValueError, match=f"{name}="):
        assert_gradients_close(F, X, G(X), **{name: value})


def test_a_transposed_gradient_is_named_as_such():
    with pytest.raises(ValueError, match=r"got \(4, 3\) \(the transposed gradient\?\)"):
        assert_gradients_close(F, X, G(X).T)
    with pytest.raises(ValueError, match=r"got \(3, 5\)$"):
        assert_gradients_close(F, X, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"got \(12,\)$"):
        assert_gradients_close(F, X, G(X).ravel())


def test_the_fast_check_wants_a_scalar_function():
    with pytest.raises(ValueError, match="returned shape"):
        assert_gradients_close(lambda x: np.sin(x), X, G(X), fast=True)


def test_the_complex_step_verification_allows_for_the_rounding_of_a_large_f():
    # f = 1e10 + 1e-3 |x|^2: its differences carry rounding of u·1e10/step, far above the
    # gradient's 1e-6 relative; a complex-safe f is still accepted, and exact
    x = np.array([0.5, -1.0, 2.0])
    g = complex_step_gradient(lambda x: 1e10 + 1e-3 * np.sum(x**2), x)
    np.testing.assert_allclose(g, 2e-3 * x, rtol=1e-14)


def test_the_complex_step_verification_passes_a_steep_function_at_its_truncation_error():
    # sin(10 x): the 4th-order differences that verify the complex step are off by ~1e-8
    # (truncation, t^4 f^(5)), within 1e-6 of the derivative's size; the step is exact
    x = np.array([0.3])
    g = complex_step_gradient(lambda x: np.sum(np.sin(10 * x)), x)
    np.testing.assert_allclose(g, 10 * np.cos(3.0), rtol=1e-14)


def test_the_fixed_rule_of_the_oracle_takes_its_bound_inclusively():
    # a linear f with dyadic numbers and a step of 2^-10: the central difference is exactly c,
    # so the true gradient meets atol = rtol = 0 with equality, and one ulp off does not
    c = np.array([0.5, -1.25, 2.0])
    x = np.array([0.25, 1.5, -0.75])
    f = lambda v: float(np.dot(c, v))
    assert_gradients_close(f, x, c, atol=0.0, rtol=0.0, eps=2.0 ** -10)
    one_ulp_off = c.copy()
    one_ulp_off[0] = np.nextafter(c[0], 1.0)
    with pytest.raises(AssertionError, match="1 of 3"):
        assert_gradients_close(f, x, one_ulp_off, atol=0.0, rtol=0.0, eps=2.0 ** -10)


def half_square(v: np.ndarray) -> float:
    return 0.5 * float(np.sum(v * v))


@pytest.mark.parametrize("size, whole_table", [(40, True), (41, False)])
def test_the_whole_table_is_shown_up_to_forty_elements(size, whole_table):
    # ∇ ½|x|² = x; six elements off by one fail, the rest agree
    x = np.linspace(-1.0, 1.0, size)
    wrong = x.copy()
    wrong[:6] += 1.0
    with pytest.raises(AssertionError) as failure:
        assert_gradients_close(half_square, x, wrong, atol=1e-6, rtol=1e-6)
    message = str(failure.value)
    assert (f"all {size} elements:" in message) == whole_table
    assert (f"({size} elements: the whole table is shown up to 40)" in message) != whole_table
    assert f"worst {3 if whole_table else 5} failing:" in message


def test_an_element_where_both_are_zero_has_relative_error_zero():
    # at x = 0 the central difference of ½x² is exactly 0 = the gradient: 0/0 is shown as 0
    x = np.array([0.0, 1.0])
    with pytest.raises(AssertionError) as failure:
        assert_gradients_close(half_square, x, np.array([0.0, 2.0]), atol=1e-6, rtol=1e-6)
    (zero_row,) = [line for line in str(failure.value).splitlines()
                   if line.strip().startswith("[0]") and line.endswith("ok")]
    assert zero_row.split()[3:5] == ["0.00e+00", "0.00e+00"]


def test_the_hessian_takes_two_hundred_elements_and_refuses_more():
    x = np.linspace(-1.0, 1.0, 200)
    np.testing.assert_allclose(numerical_hessian(half_square, x), np.eye(200), atol=1e-6)
    with pytest.raises(ValueError, match="has 201 elements; numerical_hessian takes at most 200"):
        numerical_hessian(half_square, np.zeros(201))


# -- strategies: every draw within the documented ranges, and both ends of each reached ---------

def reached(strategy, condition) -> bool:
    """Whether hypothesis finds a draw of ``strategy`` that meets ``condition``."""
    try:
        find(strategy, condition, settings=settings(
            max_examples=300, database=None, derandomize=True, phases=[Phase.generate]))
    except NoSuchExample:
        return False
    return True


@settings(max_examples=40, deadline=None, database=None)
@given(net=networks(), data=st.data())
def test_networks_and_batches_stay_in_their_documented_ranges(net, data):
    # networks(): depth 0-3 hidden layers of widths 1-6, 1-4 outputs (2-4 for softmax, 1 for
    # hinge), weights N(0, s²) with s in [0.01, 3]; batches(net): 4 examples in [-3, 3]
    assert 0 <= net.num_layers - 1 <= 3 and all(1 <= w <= 6 for w in net.sizes[:-1])
    assert (net.output, net.loss) in HEADS and net.hidden in HIDDEN
    low = 2 if net.output == "softmax" else 1
    high = 1 if net.loss == "hinge" else 4
    assert low <= net.sizes[-1] <= high
    X, T = data.draw(batches(net))
    assert X.shape == (4, net.sizes[0]) and np.all(np.abs(X) <= 3.0)
    if net.loss == "ce":
        assert T.shape == (4,) and np.all((0 <= T) & (T < net.sizes[-1]))
    else:
        assert T.shape == (4, net.sizes[-1])
        if net.loss == "bce":
            assert np.all(np.isin(T, (0.0, 1.0)))
        elif net.loss == "hinge":
            assert np.all(np.isin(T, (-1.0, 1.0)))
        else:
            assert np.all(np.abs(T) <= 3.0)


def test_networks_reach_both_ends_of_every_range_and_no_further():
    nets = networks()
    assert reached(nets, lambda n: n.num_layers == 1)
    assert reached(nets, lambda n: n.num_layers == 4)
    assert not reached(nets, lambda n: n.num_layers > 4)
    assert reached(nets, lambda n: min(n.sizes[:-1]) == 1)
    assert reached(nets, lambda n: max(n.sizes[:-1]) == 6)
    assert not reached(nets, lambda n: max(n.sizes[:-1]) > 6)
    assert reached(nets, lambda n: n.sizes[-1] == 4)
    assert not reached(nets, lambda n: n.sizes[-1] > 4)
    assert reached(nets, lambda n: n.output == "softmax" and n.sizes[-1] == 2)
    assert not reached(nets, lambda n: n.output == "softmax" and n.sizes[-1] < 2)
    assert reached(nets, lambda n: n.output == "sigmoid" and n.sizes[-1] == 1)
    # weights of either sign: the draw is seeded afresh for each network
    assert reached(nets, lambda n: n.params[0] > 0) and reached(nets, lambda n: n.params[0] < 0)


def test_networks_draw_weight_scales_from_one_hundredth_to_three():
    # every weight and bias N(0, s²): over the ~2,900 parameters of a 30-30-30-30 network the
    # spread measures s within ~1.3% (a standard error), so 2.8 and 3.3, 0.0107 and 0.0093
    # are far apart for s = 3 and s = 0.01
    wide = networks(min_depth=3, min_width=30, max_width=30)
    assert reached(wide, lambda n: np.std(n.params) > 2.8)
    assert not reached(wide, lambda n: np.std(n.params) > 3.3)
    assert reached(wide, lambda n: np.std(n.params) < 0.0107)
    assert not reached(wide, lambda n: np.std(n.params) < 0.0093)


def test_batches_reach_both_ends_of_inputs_and_targets():
    for sizes, output, loss, values in (([2, 3], "identity", "squared", None),
                                        ([2, 3], "sigmoid", "bce", (0.0, 1.0)),
                                        ([2, 3], "softmax", "ce", (0, 2)),
                                        ([2, 1], "identity", "hinge", (-1.0, 1.0))):
        data = batches(MLP(sizes, "tanh", output, loss, seed=0))
        assert reached(data, lambda b: b[0].max() == 3.0)
        assert reached(data, lambda b: b[0].min() == -3.0)
        assert not reached(data, lambda b: np.abs(b[0]).max() > 3.0)
        for value in values or ():
            assert reached(data, lambda b, v=value: np.any(b[1] == v)), (loss, value)


def test_a_batch_of_one_example_and_no_other_kind_of_count():
    net = MLP([2, 3], "tanh", "identity", "squared", seed=0)
    assert reached(batches(net, 1), lambda b: b[0].shape == (1, 2) and b[1].shape == (1, 3))
    for n in (True, 2.0, "2", 0):
        with pytest.raises(ValueError, match=f"n={n!r}: expected a positive number"):
            batches(net, n)


def test_the_range_refusals_say_which_bounds_must_be_positive():
    with pytest.raises(ValueError, match=r"^min_scale=0\.0: expected a finite positive number$"):
        networks(min_scale=0.0)
    with pytest.raises(ValueError, match=r"^max_depth='3': expected a finite number$"):
        networks(max_depth="3")


def test_without_hypothesis_the_strategies_say_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)     # as if it were not installed
    monkeypatch.delitem(sys.modules, "scalarprop.testing.strategies", raising=False)
    with pytest.raises(ImportError, match=r"needs hypothesis: pip install 'scalarprop\[test\]'"):
        importlib.import_module("scalarprop.testing.strategies")


# -- the complex step's refusals ----------------------------------------------------------------

def test_the_complex_step_checks_the_element_with_the_smallest_derivative():
    # ∂f/∂x₂ = 1e-3 (|x₂| at 0.5), but np.abs drops the imaginary part there: the complex step
    # gives 0. Along a random direction that error hides under the 1e4-sized terms; the check
    # at the element of the smallest derivative (element [2], not [0]) catches it
    x = np.array([0.5, -1.0, 0.5])
    with pytest.raises(NotComplexSafeError, match=r"At element \[2\], the complex step gives 0 "):
        complex_step_gradient(lambda x: 1e4 * np.sum(x[:2] ** 2) + 1e-3 * np.abs(x[2]), x)


def test_the_complex_step_says_when_f_drops_the_imaginary_part():
    # |x|² has derivative 2x: np.abs(x)**2 returns real values for complex x (dropped), while
    # conj(x)·x returns complex values whose imaginary part is 0 (not dropped, still wrong)
    x = np.array([0.5, -1.0, 2.0])
    dropped = "f(x + ih) has a real dtype: the imaginary part was dropped"
    with pytest.raises(NotComplexSafeError, match=re.escape(dropped)):
        complex_step_gradient(lambda x: np.sum(np.abs(x) ** 2), x)
    with pytest.raises(NotComplexSafeError) as refusal:
        complex_step_gradient(lambda x: np.sum(np.conj(x) * x), x)
    assert "is not complex-safe. Along a random direction" in str(refusal.value)
    assert dropped not in str(refusal.value)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_non_finite_complex_result_quotes_its_first_non_finite_value():
    with pytest.raises(ValueError, match=r"^f\(x \+ 0i\) is not finite \(inf\)$"):
        numerical_jacobian(lambda x: x * np.array([1.0, np.inf, np.nan]), np.ones(3),
                           method="complex_step")


def test_the_wider_step_is_tried_past_an_element_where_f_is_not_defined_that_far():
    # f = 1e6 + x₀/2 + x₁, defined only within 1e-3 of x₀ = 0.3: the rounding of 1e6 (u·1e6 per
    # value, over ε = 2e-5) dominates both elements. Element [0]'s wider step (100 ε = 2e-3)
    # leaves the domain, so it keeps its first steps; element [1]'s is still tried and cuts the
    # rounding a hundredfold
    def f(x):
        return 1e6 + 0.5 * x[0] + x[1] if abs(x[0] - 0.3) < 1e-3 else np.nan

    est = gradient_estimate(f, np.array([0.3, -0.7]))
    assert np.all(np.abs(est.numeric - [0.5, 1.0]) <= est.error)
    assert est.error[0] > 1e-5 and est.error[1] < 1e-6


def test_a_kink_at_x_does_not_pass_for_rounding_noise():
    # f = 1e3 |x₀| + x₁² at x₀ = 0: f itself rounds at u·|f| ~ 1e-17. The noise is measured
    # against the slope on the side x moves to (+1e3); the other side's slope (−1e3) would make
    # the kink look like noise of 2e-9 and x₁'s estimated error 3e-4 instead of ~1e-13
    est = gradient_estimate(lambda x: 1e3 * abs(x[0]) + x[1] ** 2, np.array([0.0, 0.5]))
    assert np.all(est.noise < 1e-15)
    assert abs(est.numeric[1] - 1.0) <= est.error[1] < 1e-10


def test_a_result_numpy_cannot_read_is_refused_as_such():
    # a ragged list is no array: numpy raises, the oracle says what f returned
    with pytest.raises(ValueError, match=r"^f\(x\) returned list, not a number or array \("):
        numerical_jacobian(lambda x: [[x[0]], [x[0], x[1]]], np.ones(2))


def test_a_non_finite_result_quotes_its_first_non_finite_value():
    with pytest.raises(ValueError, match=r"^f\(x\) is not finite \(inf\): the step leaves"):
        numerical_jacobian(lambda x: x * np.array([1.0, np.inf, np.nan]), np.ones(3))



def test_the_complex_step_verification_passes_a_steeper_function_still():
    # sin(80 x): f⁽⁵⁾ = 80⁵ ≈ 3e9; the 4th-order differences' truncation t⁴ f⁽⁵⁾/30 stays
    # within 1e-6 of the derivative at t = u^(1/5) ≈ 7e-4 (not at a wider step)
    x = np.array([0.3, -0.2])
    g = complex_step_gradient(lambda x: np.sum(np.sin(80 * x)), x)
    np.testing.assert_allclose(g, 80 * np.cos(80 * x), rtol=1e-14)


def test_the_complex_step_verification_scales_its_direction_with_x():
    # at x ~ 1e6 a direction of unit size would be lost in rounding (x + t·v == x): the
    # differences would give 0 and refuse a complex-safe f; at x = 0 a direction scaled by |x|
    # alone would not move x at all and pass one that drops the imaginary part (∂/∂x Σ x = 1)
    x = np.array([1e6, -2e6])
    g = complex_step_gradient(lambda x: 1e-12 * np.sum(x**2), x)
    np.testing.assert_allclose(g, 2e-12 * x, rtol=1e-14)
    with pytest.raises(NotComplexSafeError, match="the imaginary part was dropped"):
        complex_step_gradient(lambda x: np.sum(x.real), np.zeros(3))


def test_the_random_direction_of_the_verification_sees_a_middle_element_at_large_x():
    # f = 1e-12 |x|² + 1e-6 Re x₁ at x = (1, 2, 3)·1e6: the complex step misses the 1e-6 of
    # ∂f/∂x₁, an element that is neither the largest derivative (x₂) nor the smallest (x₀).
    # Only the random direction sees it, and only if it moves x by steps of x's own size
    x = np.array([1e6, 2e6, 3e6])
    with pytest.raises(NotComplexSafeError, match="Along a random direction, the complex step"):
        complex_step_gradient(lambda x: 1e-12 * np.sum(x**2) + 1e-6 * x[1].real, x)


def test_the_complex_step_passes_a_function_that_is_zero_everywhere():
    # the complex step and the differences are both exactly 0, the tolerance too: equal passes
    x = np.array([0.3, -0.2])
    np.testing.assert_array_equal(complex_step_gradient(lambda x: np.sum(0 * x), x), 0.0)


def test_the_complex_step_step_is_below_one_thousandth():
    with pytest.raises(ValueError, match=r"h=0.001: expected a step 0 < h < 1e-3"):
        complex_step_gradient(lambda x: np.sum(x**2), np.ones(2), h=1e-3)
    complex_step_gradient(lambda x: np.sum(x**2), np.ones(2), h=9e-4)


def test_the_complex_step_jacobian_names_the_first_output_that_disagrees():
    # f = 2 Re x: every output drops the imaginary part; the refusal names output [0]
    with pytest.raises(NotComplexSafeError, match=r"Along a random direction, output \[0\]:"):
        numerical_jacobian(lambda x: 2 * x.real, np.array([0.3, -0.2]), method="complex_step")


def test_the_complex_step_tolerance_is_relative_for_a_small_gradient():
    # f = 1e-10 Σ sin x: a gradient off by 1e-6 of itself (1e-16 absolute) is refused; the
    # estimated error is u-relative to the gradient, with no absolute floor of u
    x = np.array([0.3, -0.2])
    f = lambda x: 1e-10 * np.sum(np.sin(x))
    assert_gradients_close(f, x, 1e-10 * np.cos(x), method="complex_step")
    with pytest.raises(GradientMismatchError, match="2 of 2 elements differ"):
        assert_gradients_close(f, x, 1e-10 * np.cos(x) * (1 + 1e-6), method="complex_step")

# -- the fast (directional) check ---------------------------------------------------------------

def test_the_fast_check_passes_a_constant_function():
    # f = 0 everywhere: slope 0, gradient 0, estimated error 0; equal is within 0 x the error
    assert_gradients_close(lambda x: 0.0, np.ones(5), np.zeros(5), fast=True)


@pytest.mark.parametrize("size", [10, 1000])
def test_the_fast_check_passes_a_linear_function_at_zero(size):
    # f = gᵀx at x = 0: the differences are exact to the rounding of the dot product, which
    # the estimate must allow for (it is all there is)
    g = np.random.default_rng(size).normal(size=size)
    assert_gradients_close(lambda x: float(g @ x), np.zeros(size), g, fast=True)


def test_the_fast_check_names_at_most_five_wrong_elements():
    # ∇ ½|x|² = x; eight elements off by one, the narrowing stops at five
    x = np.random.default_rng(0).normal(size=20)
    g = x.copy()
    g[[1, 3, 5, 7, 9, 11, 13, 15]] += 1.0
    with pytest.raises(GradientMismatchError) as failure:
        assert_gradients_close(lambda x: 0.5 * np.sum(x * x), x, g, fast=True)
    assert failure.value.failing == [(1,), (3,), (5,), (7,), (9,)]


def test_the_fast_check_names_a_small_defect_among_ten_thousand_elements():
    # ∇ ½|x|² = x, one element off by 3e-7 (1e-7 of the largest entry). A unit direction
    # moves each of 10,000 elements by ~1%: each slope is measured with the step scaled up so
    # that its largest element moves by the usual step, else rounding hides the defect
    x = np.random.default_rng(1).normal(size=10_000)
    g = x.copy()
    g[17] += 3e-7
    with pytest.raises(GradientMismatchError) as failure:
        assert_gradients_close(lambda x: 0.5 * np.sum(x * x), x, g, fast=True)
    assert failure.value.failing == [(17,)]


def test_the_fast_check_of_a_network_names_no_more_than_five_across_blocks(monkeypatch):
    # six wrong weights in W0 and a wrong b1 (a block of one element): five are named, all in
    # W0, and the narrowing stops there, also for the one-element block that fails later
    rng = np.random.default_rng(4)
    net = MLP([3, 4, 1], "tanh", "identity", "squared", seed=4)
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    real = vectorized.loss_and_grad

    def six_weights_and_a_bias_off(net_, X_, T_):
        loss, grad = real(net_, X_, T_)
        grad = grad.copy()
        grad[[0, 1, 2, 3, 4, 5, net_.num_params - 1]] += 1.0
        return loss, grad

    monkeypatch.setattr(vectorized, "loss_and_grad", six_weights_and_a_bias_off)
    result = check_gradients(net, X, T, engine="vectorized", fast=True)
    assert not result.ok
    assert [b.where for b in result.blocks] == ["W0", "b1"]
    assert result.failures == [net.param_names[i] for i in range(5)]


# -- the fixed rule's tolerances ---------------------------------------------------------------

def test_the_fixed_rule_defaults_to_torchs_tolerances():
    # |a − n| <= 1e-5 + 1e-3·|n|, with ∇ ½|x|² = x known exactly
    x = np.array([0.0, 1.0])
    fixed = {"tolerance": "fixed"}
    assert_gradients_close(half_square, x, x + [5e-6, 0.0], **fixed)
    assert_gradients_close(half_square, x, x + [0.0, 9e-4], **fixed)
    with pytest.raises(GradientMismatchError, match="1 of 2"):
        assert_gradients_close(half_square, x, x + [2e-5, 0.0], **fixed)
    with pytest.raises(GradientMismatchError, match="1 of 2"):
        assert_gradients_close(half_square, x, x + [0.0, 2e-3], **fixed)


def test_an_atol_alone_means_no_relative_tolerance():
    x = np.array([1.0, 2.0])
    with pytest.raises(GradientMismatchError, match="2 of 2"):
        assert_gradients_close(half_square, x, 1.5 * x, atol=1e-6)
    with pytest.raises(GradientMismatchError, match="2 of 2"):
        assert_gradients_close(half_square, x, x + 1e-3, rtol=1e-6)


# -- the error estimate of finite differences -----------------------------------------------------

def test_the_one_sided_quotients_are_forward_and_backward_at_both_steps():
    # f = x³ at 1: forward (f(1 + s) − f(1))/s = 3 + 3s + s², backward 3 − 3s + s², at s = ε
    # (rows 0, 1) and s = ε/2 (rows 2, 3)
    est = gradient_estimate(lambda x: float(x[0] ** 3), np.array([1.0]))
    eps = est.step[0]
    expected = [3 + 3 * s * sign + s * s for s in (eps, eps / 2) for sign in (1, -1)]
    np.testing.assert_allclose(est.one_sided[:, 0], expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_the_rounding_of_terms_that_cancel_is_measured_at_x_zero(seed):
    # f = Σ bᵢ sin(xᵢ + aᵢ) − Σ bᵢ sin aᵢ with |bᵢ| ~ 1e3: f(0) ≈ 0, but each value of f carries
    # the rounding of its 1e3-sized terms (~1e-13), far above u·|f|; the noise is measured by
    # moving x by 1e-12·max(|x|, 1), also where x = 0, and the exact gradient b cos a passes
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=8), 1e3 * rng.normal(size=8)
    c = -np.sum(b * np.sin(a))

    def f(x):
        return np.sum(b * np.sin(x + a)) + c

    assert gradient_estimate(f, np.zeros(8)).noise.max() > 1e-15
    assert_gradients_close(f, np.zeros(8), b * np.cos(a))


def test_a_step_lost_on_one_side_only_is_refused():
    # at x = 1 the floats are 2⁻⁵² apart above and 2⁻⁵³ below: 1 + 1e-16 == 1, 1 − 1e-16 != 1;
    # at x = −1 the other way round
    square = lambda x: float(np.sum(x**2))
    for x in (1.0, -1.0):
        with pytest.raises(ValueError, match=r"the step 1e-16 is lost in rounding at x\[0\] = "):
            numerical_gradient(square, np.array([x]), eps=1e-16)
    # the first element where it is lost is named
    with pytest.raises(ValueError, match=r"the step 1e-16 is lost in rounding at x\[1\] = 1 "):
        numerical_gradient(square, np.array([0.5, 1.0, 1.0]), eps=1e-16)


def test_richardsons_half_step_must_not_be_lost_either():
    # eps = 2e-16 moves x = 1 (to 1 ± 2.2e-16), but Richardson's second step eps/2 = 1e-16
    # does not; the estimate of gradient_estimate takes the same two steps
    square = lambda x: float(np.sum(x**2))
    numerical_gradient(square, np.array([1.0]), eps=2e-16)
    with pytest.raises(ValueError, match=r"the step 1e-16 is lost in rounding at x\[0\] = 1"):
        numerical_gradient(square, np.array([1.0]), eps=2e-16, method="richardson")
    with pytest.raises(ValueError, match=r"the step 1e-16 is lost in rounding at x\[0\] = 1"):
        gradient_estimate(square, np.array([1.0]), eps=2e-16)


def test_the_error_estimate_wants_a_scalar_function():
    with pytest.raises(ValueError, match=r"returned shape \(3,\): a gradient needs a scalar f"):
        gradient_estimate(lambda x: x**2, np.ones(3))


def test_richardson_differences_of_quartics_are_exact_to_rounding():
    # O(ε⁴) truncation vanishes for a quartic: what is left is rounding, u·|f|/ε ~ 3e-13 at
    # the default step u^(1/5)·max(|x|, 1)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        c, x = rng.normal(size=(5, 4)), rng.normal(size=4)

        def f(x, c=c):
            return float(np.sum(c[0] + c[1] * x + c[2] * x**2 + c[3] * x**3 + c[4] * x**4))

        g = c[1] + 2 * c[2] * x + 3 * c[3] * x**2 + 4 * c[4] * x**3
        np.testing.assert_allclose(numerical_gradient(f, x, method="richardson"), g,
                                   rtol=0, atol=3e-12 * np.abs(g).max())


def test_one_direction_is_enough_for_the_fast_check():
    x = np.array([0.5, -1.0, 2.0])
    assert_gradients_close(half_square, x, x, fast=True, directions=1)
    with pytest.raises(GradientMismatchError):
        assert_gradients_close(half_square, x, x + [0.0, 0.1, 0.0], fast=True, directions=1)
    with pytest.raises(ValueError, match="directions=0: expected a positive integer"):
        assert_gradients_close(half_square, x, x, fast=True, directions=0)


def test_a_scalar_x_is_named_by_its_one_label():
    # d/dx ½x² = x = 2 at x = 2; the gradient 3 is wrong, and the report calls x "w"
    with pytest.raises(GradientMismatchError, match="worst w: analytic 3, numeric 2"):
        assert_gradients_close(lambda x: 0.5 * float(x) ** 2, 2.0, 3.0, names=["w"])


def test_the_complex_step_gradient_wants_a_scalar_function():
    with pytest.raises(ValueError, match=r"returned shape \(3,\): a gradient needs a scalar f"):
        complex_step_gradient(lambda x: x**2, np.ones(3))


def test_the_fast_check_narrows_along_the_first_direction_that_disagrees():
    # ∇ ½|x|² = x, with an error in elements 0 and 1 orthogonal to the first random direction
    # (seed 0; each element scaled by max(|x|, 1)): direction 0 agrees, a later one does not,
    # and the narrowing along that one names both elements
    x = np.random.default_rng(2).normal(size=6)
    u = np.random.default_rng(0).standard_normal(6)
    v = u / np.linalg.norm(u) * np.maximum(np.abs(x), 1.0)
    g = x.copy()
    g[0] += 1e-3 * v[1]
    g[1] -= 1e-3 * v[0]
    with pytest.raises(GradientMismatchError) as failure:
        assert_gradients_close(half_square, x, g, fast=True, seed=0)
    (first,) = [row for row in str(failure.value).splitlines()
                if row.strip().startswith("direction 0")]
    assert first.endswith(" ok")
    assert sorted(failure.value.failing) == [(0,), (1,)]


def test_unnamed_elements_are_named_by_their_index():
    # the fast check's and the per-example check's reports write an element as [i, j]
    x = np.array([[0.5, -1.0], [2.0, 1.5]])
    g = x.copy()
    g[1, 0] += 0.1
    with pytest.raises(GradientMismatchError) as failure:
        assert_gradients_close(half_square, x, g, fast=True)
    assert "\n  [1, 0]  " in str(failure.value)
    losses = lambda w: np.array([half_square(w), 2 * half_square(w)])
    with pytest.raises(GradientMismatchError, match=r"worst example 1: \[1, 0\]: "):
        assert_per_example_gradients_close(losses, x, np.stack([x, 2 * g]))


def test_the_fast_check_names_the_first_non_finite_gradient_entry():
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(GradientMismatchError, match=r"grad is nan at \[1\]$"):
        assert_gradients_close(half_square, x, [0.5, np.nan, np.inf], fast=True)


def test_the_worst_line_quotes_the_worst_elements_numbers():
    # ∇ ½|x|² = x = (1, 2): off by 0.5 at [0] and by 2 at [1], which is the worst
    with pytest.raises(GradientMismatchError, match=r"worst \[1\]: analytic 4, numeric 2\n"):
        assert_gradients_close(half_square, np.array([1.0, 2.0]), [1.5, 4.0], atol=1e-6)


def test_hv_is_checked_at_x_zero():
    # f = ½ xᵀAx: Hv = Av anywhere, at x = 0 too (the step is relative to max(|x|, 1))
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    v = np.array([0.5, -1.0])
    assert_hvp_close(lambda x: A @ x, np.zeros(2), v, A @ v)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_hessian_point_outside_fs_domain_is_named():
    # log x at x = 1e-5: the step 1.22e-4 (u^(1/4)) leaves the domain on the minus side
    with pytest.raises(ValueError, match=r"^f\(x-0.000122 at \[0\]\) is not finite \(nan\)"):
        numerical_hessian(lambda x: float(np.log(x[0])), np.array([1e-5]))


def test_the_hessian_takes_a_given_step_and_refuses_zero():
    # ½ xᵀAx has Hessian A; its second differences are exact to rounding at any step
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    quadratic = lambda x: 0.5 * float(x @ A @ x)
    for eps in (1e-3, 1.0):
        np.testing.assert_allclose(numerical_hessian(quadratic, np.array([0.5, -1.0]), eps=eps),
                                   A, atol=1e-9)
    with pytest.raises(ValueError, match="eps=0: the step must be > 0"):
        numerical_hessian(quadratic, np.zeros(2), eps=0.0)


def test_per_example_losses_must_not_be_empty():
    with pytest.raises(ValueError, match=r"returned shape \(0,\); expected one loss per example"):
        assert_per_example_gradients_close(lambda w: np.zeros(0), np.ones(2), np.zeros((0, 2)))
