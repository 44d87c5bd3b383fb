"""Cases that mutation testing (docs/mutation-testing.md) showed no other test pins down in the
testing oracle (scalarprop.testing): what its checks refuse, and what their messages say."""

import numpy as np
import pytest
from scalarprop.testing import assert_gradients_close, complex_step_gradient

F = lambda x: np.sum(np.sin(x) * x**2)
G = lambda x: np.cos(x) * x**2 + 2 * x * np.sin(x)
X = np.random.default_rng(5).normal(size=(3, 4))


def test_a_non_finite_x_is_refused_with_where_it_is():
    x = X.copy()
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"x: contains NaN or inf \(first at \[1, 2\], "):
        assert_gradients_close(F, x, G(X))
    with pytest.raises(ValueError, match=r"x: contains NaN or inf \(first at the value, "):
        assert_gradients_close(F, np.inf, 0.0)


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
