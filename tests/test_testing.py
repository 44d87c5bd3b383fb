"""scalarprop.testing on plain functions: derivatives known in closed form are the oracle."""

import math

import numpy as np
import pytest
from scalarprop.testing import (
    GradientMismatchError,
    NotComplexSafeError,
    assert_gradients_close,
    assert_vjp_close,
    complex_step_gradient,
    numerical_gradient,
    numerical_jacobian,
)

RNG = np.random.default_rng(2024)
X_POS = RNG.uniform(0.5, 3.0, size=(3, 4))       # log needs x > 0
X_SIN = RNG.uniform(-1.2, 1.2, size=(3, 4))      # cos stays away from 0: relative error is fair
Z = RNG.normal(size=6)


def softmax(z):
    e = np.exp(z - z.real.max())                 # the shift is constant: complex-safe
    return e / e.sum()


def _onehot(i, n):
    e = np.zeros(n)
    e[i] = 1.0
    return e


# (f, its gradient, the point): sums of element-wise functions and the softmax cross-entropy
KNOWN = {
    "polynomial": (lambda x: np.sum(3 * x**3 - 2 * x**2 + x - 5),
                   lambda x: 9 * x**2 - 4 * x + 1, X_POS),
    "exp": (lambda x: np.sum(np.exp(x)), np.exp, X_POS),
    "log": (lambda x: np.sum(np.log(x)), lambda x: 1 / x, X_POS),
    "sin": (lambda x: np.sum(np.sin(x)), np.cos, X_SIN),
    "sin*exp": (lambda x: np.sum(np.sin(x) * np.exp(x**2 / 4)),
                lambda x: np.exp(x**2 / 4) * (np.cos(x) + np.sin(x) * x / 2), X_POS),
    # ce(z) = logsumexp(z) - z_2: its gradient is softmax(z) - onehot(2)
    "softmax ce": (lambda z: np.log(np.sum(np.exp(z - z.real.max()))) + z.real.max() - z[2],
                   lambda z: softmax(z) - _onehot(2, z.size), Z),
}
#: the issue's bounds on the relative error of each method (forward: O(sqrt(u)) by design)
BOUND = {"forward": 1e-5, "central": 1e-8, "richardson": 1e-10, "complex_step": 1e-14}


def rel_err(a, b):
    return float(np.max(np.abs(a - b) / np.abs(b)))


@pytest.mark.parametrize("method", list(BOUND))
@pytest.mark.parametrize("name", list(KNOWN))
def test_known_derivatives(name, method):
    f, grad, x = KNOWN[name]
    numeric = numerical_gradient(f, x, method=method)
    assert numeric.shape == x.shape and numeric.dtype == np.float64
    assert rel_err(numeric, grad(x)) <= BOUND[method]


@pytest.mark.parametrize("name", list(KNOWN))
def test_complex_step_gradient_is_exact_to_rounding(name):
    f, grad, x = KNOWN[name]
    assert rel_err(complex_step_gradient(f, x), grad(x)) <= 1e-14


@pytest.mark.parametrize("method", list(BOUND))
def test_softmax_jacobian(method):
    y = softmax(Z)
    exact = np.diag(y) - np.outer(y, y)          # ∂y_i/∂z_j = y_i (δ_ij - y_j)
    J = numerical_jacobian(softmax, Z, method=method)
    assert J.shape == (6, 6)
    assert rel_err(J, exact) <= BOUND[method]


def test_jacobian_layout_is_output_shape_then_input_shape():
    A = RNG.normal(size=(3, 4))
    X = RNG.normal(size=(2, 3))
    J = numerical_jacobian(lambda X: X @ A, X)                  # (2, 4) from (2, 3)
    assert J.shape == (2, 4, 2, 3)
    exact = np.zeros((2, 4, 2, 3))          # ∂(X A)[i, k] / ∂X[i, l] = A[l, k]
    for i in range(2):
        exact[i, :, i, :] = A.T
    assert np.allclose(J, exact, rtol=0, atol=1e-9)
    # a scalar f: the Jacobian is the gradient
    f, grad, x = KNOWN["exp"]
    assert rel_err(numerical_jacobian(f, x), grad(x)) <= 1e-8


def test_explicit_eps_is_the_step_and_the_errors_have_their_known_size():
    # f = Σ x³: central error is exactly ε² (f'''/6 · ε²), forward error 3xε + ε²
    x = np.array([0.5, 1.0, 2.0])
    f = lambda x: np.sum(x**3)
    eps = 1e-3
    central = numerical_gradient(f, x, eps=eps)
    assert np.allclose(central - 3 * x**2, eps**2, rtol=1e-4, atol=0)
    forward = numerical_gradient(f, x, eps=eps, method="forward")
    assert np.allclose(forward - 3 * x**2, 3 * x * eps + eps**2, rtol=1e-4, atol=0)
    # Richardson removes the ε² term: only rounding is left for a cubic
    rich = numerical_gradient(f, x, eps=eps, method="richardson")
    assert rel_err(rich, 3 * x**2) <= 1e-10
    # a per-element step
    steps = np.array([1e-3, 2e-3, 4e-3])
    assert np.allclose(numerical_gradient(f, x, eps=steps) - 3 * x**2, steps**2, rtol=1e-4)


def test_default_step_scales_with_each_element():
    # x spans 12 orders of magnitude: an absolute step is lost in rounding at 3e12 (the
    # floats there are 5e-4 apart), a step scaled to each element is not
    x = np.array([0.5, 1e8, 3e12])
    f = lambda x: np.sum(np.log(x))
    for method in ("central", "richardson"):
        assert rel_err(numerical_gradient(f, x, method=method), 1 / x) <= 1e-8
    with pytest.raises(ValueError, match=r"step 1e-06 is lost in rounding at x\[2\] = 3e\+12"):
        numerical_gradient(f, x, eps=1e-6)


def test_zero_dimensional_x_and_int_x():
    assert abs(numerical_gradient(lambda x: x**3, 2.0) - 12.0) < 1e-8
    assert numerical_gradient(lambda x: x**3, 2.0).shape == ()
    assert np.allclose(numerical_gradient(lambda x: np.sum(x**2), [1, 2, 3]), [2, 4, 6])
    assert abs(complex_step_gradient(lambda x: np.sin(x), 0.3) - math.cos(0.3)) < 1e-15


# -- x is never modified --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["central", "forward", "richardson", "complex_step"])
def test_x_is_left_unchanged_also_when_f_raises(method):
    x = RNG.normal(size=(2, 3))
    before = x.copy()
    calls = []

    def f(z):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return np.sum(z**2)

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x, method=method)
    assert np.array_equal(x, before)
    numerical_gradient(lambda z: np.sum(z**2), x, method=method)
    assert np.array_equal(x, before)


def test_f_that_writes_into_its_argument_is_refused():
    x = np.ones(3)

    def f(z):
        z *= 2.0                   # a bug: changes the point it is asked about
        return float(np.sum(z))

    with pytest.raises(ValueError, match="modified its argument"):
        numerical_gradient(f, x)
    assert np.array_equal(x, np.ones(3))


# -- bad arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize("x,match", [
    (np.array([1.0, np.nan]), "x: contains NaN"),
    (np.array([1.0, np.inf]), "x: contains NaN"),
    (np.array([1.0 + 1j]), "x: complex"),
    (np.array(["a"]), "x: dtype"),
    ([[1.0, 2.0], [3.0]], "x: cannot be read"),
    (np.array([]), r"x: empty \(shape \(0,\)\)"),
])
def test_bad_x(x, match):
    with pytest.raises(ValueError, match=match):
        numerical_gradient(lambda z: np.sum(z), x)


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "backward"}, "method='backward'"),
    ({"eps": 0.0}, "eps=0.0"),
    ({"eps": -1e-3}, "eps=-0.001"),
    ({"eps": np.ones(2)}, "eps: expected a number or an array of x's shape"),
    ({"eps": np.nan}, "eps: contains NaN"),
])
def test_bad_method_or_eps(kwargs, match):
    with pytest.raises(ValueError, match=match):
        numerical_gradient(lambda z: np.sum(z), np.ones(3), **kwargs)


@pytest.mark.parametrize("h", [0.0, -1e-30, np.inf, 0.1, "1e-30"])
def test_bad_h(h):
    with pytest.raises(ValueError, match="h="):
        complex_step_gradient(lambda z: np.sum(z), np.ones(3), h=h)


def test_bad_f():
    with pytest.raises(ValueError, match="f: expected a callable"):
        numerical_gradient(3.0, np.ones(3))
    with pytest.raises(ValueError, match="numerical_jacobian"):
        numerical_gradient(lambda z: z * 2, np.ones(3))         # not a scalar
    with pytest.raises(ValueError, match="complex values"):
        numerical_gradient(lambda z: np.sum(z) * 1j, np.ones(3))
    with pytest.raises(ValueError, match=r"not finite .*smaller eps"), \
            np.errstate(invalid="ignore"):
        numerical_gradient(lambda z: np.sum(np.log(z)), np.array([1e-7, 1.0]))
    with pytest.raises(ValueError, match="dtype"):
        numerical_gradient(lambda z: "one", np.ones(3))


# -- the complex step refuses functions that are not complex-safe -------------------------------

X4 = np.array([0.7, -1.3, 2.1, 0.4])


def _into_float_array(z):
    out = np.empty(z.shape)
    out[:] = z                     # numpy drops the imaginary part (ComplexWarning)
    return np.sum(out**3)


NOT_COMPLEX_SAFE = {
    "abs of everything": lambda z: np.sum(np.abs(z)),
    "abs of one element": lambda z: np.sum(z**2) + np.abs(z[1]),
    "abs of the result": lambda z: np.abs(np.sum(z**3)),
    ".real": lambda z: np.sum(np.exp(z.real)),
    "float()": lambda z: float(np.sum(z**2)),
    "astype(float)": lambda z: np.sum(z.astype(float) ** 2),
    "write into float array": _into_float_array,
    "math.exp": lambda z: math.exp(z[0]) + np.sum(z),
    "math on Python complex": lambda z: math.sin(complex(z[0])),
    "np.sign": lambda z: np.sum(np.sign(z) * z),
    "conj": lambda z: np.sum(z * np.conj(z)),
    "NaN imaginary part": lambda z: complex(np.sum(z**2).real, np.nan),
}


@pytest.mark.parametrize("name", list(NOT_COMPLEX_SAFE))
def test_not_complex_safe_functions_are_refused(name):
    f = NOT_COMPLEX_SAFE[name]
    with pytest.raises(NotComplexSafeError, match="complex") as info:
        complex_step_gradient(f, X4)
    assert isinstance(info.value, ValueError)            # the documented type
    assert "complex-safe" in str(info.value) or "casts its complex input" in str(info.value)
    # the same refusal from every entry point that offers the complex step
    with pytest.raises(NotComplexSafeError):
        assert_gradients_close(f, X4, np.zeros(4), method="complex_step")


def test_verification_is_what_catches_a_silently_wrong_complex_step():
    f = NOT_COMPLEX_SAFE["abs of one element"]
    wrong = complex_step_gradient(f, X4, verify=False)     # the abs term's slope is lost
    assert wrong[1] == pytest.approx(2 * X4[1], abs=1e-12)
    assert numerical_gradient(f, X4)[1] == pytest.approx(2 * X4[1] - 1, abs=1e-8)


def test_refusal_of_a_vector_function_names_the_output():
    f = lambda z: np.array([np.sum(z**2), np.abs(z[0] - 3.0)])
    with pytest.raises(NotComplexSafeError, match=r"output \[1\]"):
        numerical_jacobian(f, X4, method="complex_step")


def test_complex_safe_piecewise_functions_are_accepted():
    # branches chosen on the real part, away from the kink: analytic where evaluated
    relu2 = lambda z: np.sum(np.where(z.real > 0, z, 0.0) ** 2)
    g = complex_step_gradient(relu2, X4)
    assert np.array_equal(g, np.where(X4 > 0, 2 * X4, 0.0))
    f = lambda z: np.sum(np.tanh(z) @ np.exp(z[::-1]))
    assert rel_err(complex_step_gradient(f, X4), numerical_gradient(f, X4, method="richardson")
                   ) <= 1e-9


# -- assert_gradients_close: the report ---------------------------------------------------------

F_SIN = lambda x: np.sum(np.sin(x) * x**2)
G_SIN = lambda x: np.cos(x) * x**2 + 2 * x * np.sin(x)
X34 = RNG.normal(size=(3, 4))


@pytest.mark.parametrize("method", ["central", "forward", "richardson", "complex_step"])
def test_a_correct_gradient_passes(method):
    # the automatic tolerance estimates the error of central differences: forward needs atol
    fixed = {"atol": 1e-5, "rtol": 1e-3} if method == "forward" else {}
    assert assert_gradients_close(F_SIN, X34, G_SIN(X34), method=method, **fixed) is None


def test_forward_differences_need_a_fixed_tolerance():
    with pytest.raises(ValueError, match="method='forward' with tolerance='auto'"):
        assert_gradients_close(F_SIN, X34, G_SIN(X34), method="forward")


@pytest.mark.parametrize("method", ["central", "richardson", "complex_step"])
def test_one_wrong_element_is_found_and_reported(method):
    grad = G_SIN(X34)
    grad[1, 2] += 0.01
    with pytest.raises(GradientMismatchError) as info:
        assert_gradients_close(F_SIN, X34, grad, method=method)
    e = info.value
    assert isinstance(e, AssertionError)
    assert e.worst == (1, 2) and e.failing == [(1, 2)] and e.shape == (3, 4)
    msg = str(e)
    lines = msg.splitlines()
    assert lines[0].startswith("gradient check failed: 1 of 12 elements")
    assert "shape (3, 4)" in msg
    assert f"worst [1, 2]: analytic {grad[1, 2]:.6g}, numeric {G_SIN(X34)[1, 2]:.6g}" in msg
    # the whole table for a small array: every index once, only [1, 2] marked FAIL
    table = lines[lines.index("all 12 elements:") + 2:]
    assert len(table) == 12
    assert [r.split()[0:2] for r in table if r.endswith("FAIL")] == [["[1,", "2]"]]
    row = next(r for r in table if r.endswith("FAIL")).split()
    assert float(row[2]) == pytest.approx(grad[1, 2], rel=1e-5)
    assert float(row[3]) == pytest.approx(G_SIN(X34)[1, 2], rel=1e-5)
    assert float(row[4]) == pytest.approx(0.01, rel=1e-2)            # abs err
    assert float(row[5]) == pytest.approx(0.01 / abs(grad[1, 2]), rel=1e-2)  # rel err


def test_large_arrays_list_the_worst_few_in_order_with_names():
    x = RNG.normal(size=100)
    grad = np.cos(x)
    grad[[7, 42, 93]] += [0.5, 0.05, -2.0]
    grad[60] = np.nan                      # NaN is a failing element, not an argument error
    names = [f"p{i}" for i in range(100)]
    with pytest.raises(GradientMismatchError) as info:
        assert_gradients_close(lambda x: np.sum(np.sin(x)), x, grad, names=names)
    e = info.value
    assert e.failing == [(60,), (93,), (7,), (42,)]
    assert e.worst_name == "p60"
    msg = str(e)
    assert "4 of 100 elements" in msg and "shape (100,)" in msg
    assert "all 100 elements" not in msg
    worst_rows = msg.splitlines()[5:9]
    assert [r.split()[0] for r in worst_rows] == ["p60", "p93", "p7", "p42"]


def test_tolerances_decide():
    grad = G_SIN(X34) * (1 + 5e-4)                  # every element 5e-4 off, relatively
    assert_gradients_close(F_SIN, X34, grad, atol=0, rtol=1e-3)
    with pytest.raises(GradientMismatchError):
        assert_gradients_close(F_SIN, X34, grad, atol=0, rtol=1e-4)


def test_assert_gradients_close_bad_arguments():
    g = G_SIN(X34)
    with pytest.raises(ValueError, match=r"grad: expected the shape of x, \(3, 4\), got "
                                         r"\(4, 3\) \(the transposed gradient\?\)"):
        assert_gradients_close(F_SIN, X34, g.T)
    with pytest.raises(ValueError, match="grad: complex"):
        assert_gradients_close(F_SIN, X34, g + 0j)
    with pytest.raises(ValueError, match="atol"):
        assert_gradients_close(F_SIN, X34, g, atol=-1)
    with pytest.raises(ValueError, match="rtol"):
        assert_gradients_close(F_SIN, X34, g, rtol=np.nan)
    with pytest.raises(ValueError, match="names: expected 12 labels"):
        assert_gradients_close(F_SIN, X34, g, names=["a", "b"])
    with pytest.raises(ValueError, match="method="):
        assert_gradients_close(F_SIN, X34, g, method="exact")


# -- seeded bugs in backward functions ----------------------------------------------------------


def sigmoid(k):
    return 1 / (1 + np.exp(-k))


def test_transposed_weight_gradient_fails_exactly_off_the_diagonal():
    # one sigmoid layer, l(W) = Σ (σ(X Wᵀ + b) − T)², W square so the transpose fits
    X, T, b = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3)), RNG.normal(size=3)
    W = RNG.normal(size=(3, 3))

    def loss(W):
        return np.sum((sigmoid(X @ W.T + b) - T) ** 2)

    H = sigmoid(X @ W.T + b)
    K_grad = 2 * (H - T) * H * (1 - H)
    assert_gradients_close(loss, W, K_grad.T @ X)           # W∇ = K∇ᵀ X
    with pytest.raises(GradientMismatchError) as info:
        assert_gradients_close(loss, W, X.T @ K_grad)       # the transpose
    off_diagonal = {(i, j) for i in range(3) for j in range(3) if i != j}
    assert set(info.value.failing) == off_diagonal
    assert info.value.worst in off_diagonal


def test_wrong_sigmoid_derivative_in_a_backward_function():
    # the lecture's k∇ = h∇ ⊙ h ⊙ (1 − h), written wrongly as σ(k) σ(1 − k)
    k = np.array([-2.0, -0.5, 0.7, 3.0])
    v = np.array([0.3, -1.2, 0.8, 2.0])
    right = lambda h_grad: h_grad * sigmoid(k) * (1 - sigmoid(k))
    wrong = lambda h_grad: h_grad * sigmoid(k) * sigmoid(1 - k)
    assert_vjp_close(sigmoid, k, v, right)
    with pytest.raises(GradientMismatchError, match="vector-Jacobian product check failed: "
                                                    "4 of 4 elements") as info:
        assert_vjp_close(sigmoid, k, v, wrong)
    assert sorted(info.value.failing) == [(0,), (1,), (2,), (3,)]
    # a backward that is wrong for one unit only: that unit is the one reported
    one = lambda h_grad: right(h_grad) * np.array([1, 1, 1.01, 1])
    with pytest.raises(GradientMismatchError) as info:
        assert_vjp_close(sigmoid, k, v, one, method="complex_step")
    assert info.value.failing == [(2,)]


def test_vjp_of_a_matrix_product_with_missing_term():
    # y = x A: x∇ = y∇ Aᵀ. Given as an array or as a callable; v=None draws one
    A = RNG.normal(size=(3, 2))
    x = RNG.normal(size=(4, 3))
    assert_vjp_close(lambda x: x @ A, x, None, lambda y_grad: y_grad @ A.T)
    v = RNG.normal(size=(4, 2))
    assert_vjp_close(lambda x: x @ A, x, v, v @ A.T, method="richardson")
    A_wrong = A.copy()
    A_wrong[1, 0] = 0.0                     # forgot one term: column 1 of x∇ is wrong
    with pytest.raises(GradientMismatchError) as info:
        assert_vjp_close(lambda x: x @ A, x, v, v @ A_wrong.T)
    assert {j for _, j in info.value.failing} == {1}
    with pytest.raises(ValueError, match=r"v: expected the shape of f\(x\), \(4, 2\)"):
        assert_vjp_close(lambda x: x @ A, x, np.ones(3), v @ A.T)
    with pytest.raises(ValueError, match=r"vjp\(v\): expected the shape of x"):
        assert_vjp_close(lambda x: x @ A, x, v, v)
