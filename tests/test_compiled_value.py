"""The eager Value against analytic derivatives and finite differences (slides 20-30)."""

import math

import numpy as np
import pytest

from scalarprop import testing
from scalarprop.engines.compiled import Value


def lecture_f_grad(x):
    """Slide 36: ∂f/∂x = -2/c² · cos b · e^a · -1 with a = -x, b = e^a, c = sin b."""
    a = -x
    b = math.exp(a)
    c = math.sin(b)
    return -2 / c**2 * math.cos(b) * math.exp(a) * -1


@pytest.mark.parametrize("x", [-4.499, -1.0, 0.3, 2.0])
def test_lecture_function_matches_the_analytic_derivative(x):
    v = Value(x)
    f = 2 / (-v).exp().sin()
    f.backward()
    assert f.data == pytest.approx(2 / math.sin(math.exp(-x)), rel=1e-15)
    exact = lecture_f_grad(x)
    assert abs(v.grad - exact) <= 1e-13 * max(1.0, abs(exact))


UNARY = {
    "exp": lambda v: v.exp(),
    "log": lambda v: v.log(),
    "sin": lambda v: v.sin(),
    "cos": lambda v: v.cos(),
    "tanh": lambda v: v.tanh(),
    "sigmoid": lambda v: v.sigmoid(),
    "relu": lambda v: v.relu(),
    "abs": lambda v: v.abs(),
    "abs()": lambda v: abs(v),          # Python's builtin, as micrograd users write it
    "pos": lambda v: +v * 2.0,
    "neg": lambda v: -v,
    "pow3": lambda v: v**3,
    "pow-0.5": lambda v: v**-0.5,
    "rdiv": lambda v: 3.0 / v,
    "rsub": lambda v: 3.0 - v,
    "radd": lambda v: 3.0 + v,
    "rmul": lambda v: 3.0 * v,
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("x", [0.7, -1.3, 2.5])
def test_each_operation_matches_finite_differences(name, x):
    if name in ("log", "pow-0.5") and x < 0:
        x = -x
    op = UNARY[name]
    v = Value(x)
    y = op(v)
    y.backward()
    numeric = testing.numerical_gradient(lambda z: op(Value(z[0])).data, [x],
                                         method="richardson")
    assert v.grad == pytest.approx(numeric[0], rel=1e-8, abs=1e-10)


def binary(a, b):
    return (a * b + a / b - b) ** 2 * (a - 1.5).tanh()


def test_two_inputs_and_shared_paths_match_finite_differences():
    a, b = Value(0.8), Value(-1.7)
    y = binary(a, b) + a * a          # a reaches y by several paths: slide 30's sum
    y.backward()
    numeric = testing.numerical_gradient(
        lambda z: (binary(Value(z[0]), Value(z[1])) + Value(z[0]) * Value(z[0])).data,
        [0.8, -1.7], method="richardson")
    np.testing.assert_allclose([a.grad, b.grad], numeric, rtol=1e-8)


def test_backward_twice_gives_the_same_gradient():
    x = Value(0.4)
    y = x.sin() * x
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == first == pytest.approx(math.cos(0.4) * 0.4 + math.sin(0.4), rel=1e-15)


def test_kinks_use_the_engines_convention():
    # relu'(0) = 0 and |x|'(0) = 0, as functions.activate_grad and the absolute loss
    for op in (Value.relu, Value.abs):
        x = Value(0.0)
        op(x).backward()
        assert x.grad == 0.0


def test_sigmoid_does_not_overflow():
    for k in (-800.0, 800.0):
        x = Value(k)
        y = x.sigmoid()
        y.backward()
        assert math.isfinite(y.data) and math.isfinite(x.grad)


def test_value_exponent_is_refused():
    with pytest.raises(TypeError, match="constant"):
        Value(2.0) ** Value(3.0)


def test_deep_chain_does_not_recurse():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000, rel=1e-12)
