"""Random expressions: compiled = eager Value = finite differences."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import scalarprop.engines.compiled as spc
from scalarprop import testing
from scalarprop.engines.compiled import Value

SMOOTH_UNARY = ["neg", "exp_small", "log_pos", "sin", "cos", "tanh", "sigmoid", "pow3",
                "inv_pos"]
KINKED_UNARY = ["relu", "abs"]
BINARY = ["+", "-", "*", "dot", "where"]


def expressions(unary):
    leaves = st.one_of(st.tuples(st.just("x"), st.integers(0, 2)),
                       st.tuples(st.just("c"), st.floats(-2, 2).map(lambda c: round(c, 3))))
    return st.recursive(
        leaves,
        lambda sub: st.one_of(st.tuples(st.sampled_from(unary), sub),
                              st.tuples(st.sampled_from(BINARY), sub, sub)),
        max_leaves=12)


def build(e, x):
    """The expression over x (Values or traced placeholders); domains kept safe."""
    kind = e[0]
    if kind == "x":
        return x[e[1]]
    if kind == "c":
        return e[1]
    a = build(e[1], x)
    if len(e) == 2:
        if not hasattr(a, "exp"):               # a constant: stays a number
            a = a + 0 * x[0]
        return {"neg": lambda: -a, "exp_small": lambda: (a.tanh() * 2.0).exp(),
                "log_pos": lambda: (a * a + 1.0).log(), "sin": a.sin, "cos": a.cos,
                "tanh": a.tanh, "sigmoid": a.sigmoid, "pow3": lambda: a.tanh() ** 3,
                "inv_pos": lambda: 1.0 / (a * a + 0.5), "relu": a.relu,
                "abs": a.abs}[kind]()
    b = build(e[2], x)
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    if kind == "*":
        return a * b
    if kind == "dot":
        return spc.dot([a, b, x[2]], [b, x[1], a])
    return spc.where(x[0] > x[1], a, b)


def compiled_and_eager(expr, point):
    cf = spc.compile(lambda x: build(expr, x) + 0.0 * x[0], 3)
    value, g = cf.grad(point)
    vs = [Value(p) for p in point]
    y = build(expr, vs) + 0.0 * vs[0]
    y.backward()
    return cf, value, g, y.data, np.array([v.grad for v in vs])


points = st.lists(st.floats(-1.5, 1.5).filter(lambda v: abs(v) > 1e-3), min_size=3,
                  max_size=3)


@settings(max_examples=60, deadline=None)
@given(expr=expressions(SMOOTH_UNARY + KINKED_UNARY), point=points)
def test_compiled_equals_eager(expr, point):
    _, value, g, eager_value, eager_g = compiled_and_eager(expr, point)
    assert math.isclose(value, eager_value, rel_tol=1e-12, abs_tol=1e-12)
    np.testing.assert_allclose(g, eager_g, rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(expr=expressions(SMOOTH_UNARY), point=points)
def test_compiled_equals_finite_differences(expr, point):
    if abs(point[0] - point[1]) < 1e-2:         # where(x0 > x1) switches there
        point[1] += 0.1
    cf, _, g, _, _ = compiled_and_eager(expr, point)
    testing.assert_gradients_close(lambda z: cf(z), point, g, atol=1e-6, rtol=1e-6,
                                   method="richardson")
