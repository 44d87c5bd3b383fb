"""The autodiff graph: the lecture's f(x) = 2/sin(e^-x) against its hand-derived chain of
local derivatives, the diamond, nodes used many times, deep chains, accumulation, dropping
the graph, user-defined ops, printing."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from cases import Split

from scalarprop import autodiff as ad
from scalarprop.autodiff import Linear, Module, Op, OpNode, TensorNode

# the slide's x = -4.499, made exact: e^-x = 57 π/2, so sin(e^-x) = 1 and cos(e^-x) = 0
X_ZERO = -np.log(57 * np.pi / 2)


def f_graph(x: float):
    """f(x) = 2/sin(e^-x) as the slide's four operations a, b, c, d."""
    xn = TensorNode(x, name="x")
    a = -xn
    b = ad.exp(a)
    c = ad.sin(b)
    d = 2 / c
    return xn, a, b, c, d


@pytest.mark.parametrize("x", [X_ZERO, -3.0, -1.0, 0.0, 0.7, 2.5])
def test_lecture_example_matches_the_hand_derived_chain(x):
    xn, a, b, c, d = f_graph(x)
    d.backward()
    # slide 36: ∂f/∂x = ∂d/∂c · ∂c/∂b · ∂b/∂a · ∂a/∂x = -2/c² · cos b · e^a · -1
    hand = (-2 / c.value ** 2) * np.cos(b.value) * np.exp(a.value) * -1
    np.testing.assert_allclose(xn.grad, hand, rtol=1e-14, atol=0)
    # and the function itself, against finite differences
    fx = lambda v: 2 / np.sin(np.exp(-v))
    eps = 1e-6
    numeric = (fx(x + eps) - fx(x - eps)) / (2 * eps)
    assert xn.grad == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_lecture_example_at_its_zero_gradient():
    xn, a, b, c, d = f_graph(X_ZERO)
    d.backward()
    # slides 37-38: a = 4.499, b = e^a = 90, c = sin b = 1, d = 2, and the gradient is 0
    assert X_ZERO == pytest.approx(-4.499, abs=5e-3)
    assert b.item() == pytest.approx(90, abs=0.5)
    assert c.item() == pytest.approx(1.0, abs=1e-15)
    assert d.item() == pytest.approx(2.0, abs=1e-14)
    # cos b is 0 up to the rounding of b (~1e-14), times 2 e^a ≈ 180
    assert abs(xn.grad) < 1e-11


def test_diamond_sums_both_paths():
    # b = a + a; c = b * b: dc/da = 2b · 2 = 8a, through two paths each used twice
    a_val = np.array([0.5, -1.25, 2.0])
    a = TensorNode(a_val)
    b = a + a
    c = b * b
    c.sum().backward()
    assert np.array_equal(a.grad, 8 * a_val)
    assert np.array_equal(b.grad, 2 * b.value)
    eps = 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = eps
        g = lambda v: np.sum((v + v) * (v + v))
        assert a.grad[i] == pytest.approx((g(a_val + e) - g(a_val - e)) / (2 * eps), rel=1e-7)


def test_a_node_used_by_many_ops():
    x = TensorNode(np.array([1.5, -2.0]))
    total = x * 0.0
    for i in range(1, 1001):
        total = total + x * float(i)        # x feeds 1001 multiplications
    total.sum().backward()
    assert np.array_equal(x.grad, np.full(2, 1000 * 1001 / 2))


def test_a_chain_of_10000_ops_needs_no_recursion():
    x = TensorNode(0.3)
    y = x
    expected = 1.0
    for i in range(10_000):
        if i % 2:
            y = y * 1.0001
            expected *= 1.0001
        else:
            y = y + x           # x is also used 5000 times
    y.backward()
    # y = x (1 + 1.0001 + 1.0001² + …): dy/dx by the recurrence g ← (g + 1) · 1.0001
    g = 1.0
    for i in range(10_000):
        g = g * 1.0001 if i % 2 else g + 1.0
    assert x.grad == pytest.approx(g, rel=1e-12)
    assert len(ad.topological_order(y)) == 10_000
    ref = weakref.ref(y.source)
    del y
    gc.collect()
    assert ref() is None


def test_a_very_deep_graph_backpropagates_and_is_freed():
    x = TensorNode(np.array([0.1, 0.2]))
    y = x
    for _ in range(30_000):
        y = ad.tanh(y) + 0.0        # 60 000 ops
    y.sum().backward()
    assert np.isfinite(x.grad).all()
    del y


def test_gradients_accumulate_until_zero_grad():
    x = TensorNode(np.array([1.0, 2.0]))
    l = (x * x).sum()
    l.backward()
    assert np.array_equal(x.grad, [2.0, 4.0])
    l.backward()                    # the same graph again: adds, no double counting inside
    assert np.array_equal(x.grad, [4.0, 8.0])
    l.zero_grad()
    assert not x.has_grad and np.array_equal(x.grad, [0.0, 0.0])
    (x * 3.0).sum().backward()
    assert np.array_equal(x.grad, [3.0, 3.0])


def test_backward_refuses_a_non_scalar_and_a_constant_loss():
    x = TensorNode(np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        (x * 2).backward()
    c = TensorNode(np.ones(3), requires_grad=False)
    with pytest.raises(ValueError, match="constant"):
        (c * 2).sum().backward()
    with pytest.raises(ValueError, match="TensorNode"):
        ad.backward(np.ones(1))


def test_constants_get_no_gradient():
    x = TensorNode(np.array([1.0, 2.0]))
    t = np.array([0.5, 0.5])
    l = ((x - t) ** 2).sum()
    l.backward()
    assert np.array_equal(x.grad, 2 * (x.value - t))
    sub = l.source.inputs[0].source.inputs[0].source
    assert sub.op is ad.Subtract and not sub.inputs[1].requires_grad
    assert not sub.inputs[1].has_grad


def test_graph_is_walkable_and_has_no_cycles():
    x = TensorNode(np.array([1.0, 2.0]), name="x")
    h = ad.sigmoid(x)
    l = h.sum()
    op = l.source
    assert isinstance(op, OpNode) and op.name == "sum" and op.outputs == [l]
    assert op.inputs == (h,) and h.source.inputs == (x,) and x.is_leaf
    assert [o.name for o in ad.topological_order(l)] == ["sigmoid", "sum"]
    assert ad.all_nodes(l)[0] is x and ad.all_nodes(l)[-1] is l
    ref = weakref.ref(h)
    gc.disable()
    try:
        del h, op, l                # no reference cycles: freed at once, without the collector
        assert ref() is None
    finally:
        gc.enable()


def test_clear_drops_the_graph_but_keeps_values_and_gradients():
    x = TensorNode(np.array([1.0, 2.0]))
    h = x * x
    l = h.sum()
    l.backward()
    src = weakref.ref(h.source)
    l.clear()
    assert l.source is None and h.source is None and l.is_leaf
    assert src() is None
    assert np.array_equal(x.grad, [2.0, 4.0]) and np.array_equal(h.value, [1.0, 4.0])


def test_operators_with_numbers_and_arrays_on_either_side():
    x = TensorNode(np.array([1.0, 2.0]))
    a = np.array([3.0, 4.0])
    exprs = [a + x, x + a, a - x, 1 - x, a * x, 2 * x, a / x, 2 / x, x / 2, -x, x ** 3,
             a @ x, x @ a]
    assert all(isinstance(e, TensorNode) for e in exprs)
    total = exprs[0]
    for e in exprs[1:]:
        total = total + e.sum()
    total.sum().backward()
    v = x.value
    # total = (a + x) + Σ e.sum(): the first term is a vector, every sum is added to both slots
    expected = 1 + 2 * (1 - 1 - 1 + a + 2 - a / v**2 - 2 / v**2 + 0.5 - 1 + 3 * v**2 + 2 * a)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-14)


def test_values_are_float64_and_bad_values_are_refused():
    assert TensorNode([1, 2]).value.dtype == np.float64
    arr = np.zeros(3)
    assert TensorNode(arr).value is arr           # no copy: parameters can be views
    with pytest.raises(ValueError, match="complex|real"):
        TensorNode(np.array([1j]))
    with pytest.raises(ValueError, match="numeric|real"):
        TensorNode(["a"])
    with pytest.raises(ValueError, match="shape"):
        TensorNode(np.zeros(2)).grad = np.zeros(3)
    with pytest.raises(ValueError, match="one element"):
        TensorNode(np.zeros(2)).item()


def test_repr_is_readable():
    x = TensorNode(2.0, name="x")
    y = x * 3.0
    assert repr(x) == "TensorNode 'x'(value=2, grad=None, leaf)"
    assert repr(y) == "TensorNode(value=6, grad=None, from multiply)"
    y.backward()
    assert repr(x) == "TensorNode 'x'(value=2, grad=3, leaf)"
    big = TensorNode(np.zeros((256, 10)), requires_grad=False)
    assert repr(big) == "TensorNode(shape=(256, 10), grad=None, leaf, constant)"
    assert repr(y.source) == "OpNode(multiply, inputs=[(), ()], outputs=[()])"
    assert "p=3.0" in repr((x ** 3).source)


def test_format_graph_lists_the_ops_in_order():
    xn, a, b, c, d = f_graph(-1.0)
    text = ad.format_graph(d)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["x", "()", "leaf"]
    ops = [line.split("= ")[1].split("(")[0] for line in lines if "= " in line
           and "leaf" not in line and "constant" not in line]
    assert ops == ["negate", "exp", "sin", "divide"]
    assert "divide(%" in text and "-> " in text


class Cube(Op):
    """y = x³; x∇ = y∇ 3x²."""

    name = "cube"

    @staticmethod
    def forward(context, x, *, scale=1.0):
        context["x"] = x
        return scale * x ** 3

    @staticmethod
    def backward(context, g):
        return g * 3 * context["x"] ** 2, None      # None for the keyword constant


def test_a_user_defined_op():
    x = TensorNode(np.array([1.0, -2.0]))
    y = Cube.apply(x)
    y.sum().backward()
    assert np.array_equal(x.grad, [3.0, 12.0])
    assert y.source.name == "cube"


def test_a_backward_with_wrong_shapes_or_counts_is_reported():
    class Bad(Op):
        name = "bad"

        @staticmethod
        def forward(context, x):
            return x * 2

        @staticmethod
        def backward(context, g):
            return g.sum()

    class TooMany(Bad):
        name = "too_many"

        @staticmethod
        def backward(context, g):
            return g, g

    with pytest.raises(RuntimeError, match="bad.backward returned a gradient of shape"):
        Bad.apply(TensorNode(np.ones(3))).sum().backward()
    with pytest.raises(RuntimeError, match="too_many.backward returned 2 gradients for 1"):
        TooMany.apply(TensorNode(np.ones(3))).sum().backward()


def test_an_op_with_two_outputs_one_unused():
    x = TensorNode(np.arange(5.0))
    a, b = Split.apply(x)
    del b
    (a * a).sum().backward()
    assert np.array_equal(x.grad, [0.0, 2.0, 0.0, 0.0, 0.0])


def test_modules_find_their_parameters():
    class Two(Module):
        def __init__(self):
            self.first = Linear(3, 4, seed=0, name="a")
            self.layers = [Linear(4, 2, seed=1, name="b")]
            self.const = TensorNode(1.0, requires_grad=False)

        def forward(self, x):
            return self.layers[0](ad.tanh(self.first(x))) * self.const

    m = Two()
    assert [p.name for p in m.parameters()] == ["Wa", "ba", "Wb", "bb"]
    x = np.random.default_rng(0).normal(size=(5, 3))
    before = m.first.W.value.copy()
    l = (m(x) ** 2).sum()
    l.backward()
    assert all(p.has_grad for p in m.parameters())
    m.step(0.1)
    np.testing.assert_array_equal(m.first.W.value, before - 0.1 * m.first.W.grad)
    m.zero_grad()
    assert not any(p.has_grad for p in m.parameters())


def test_linear_checks_its_arrays():
    with pytest.raises(ValueError, match=r"W: expected shape \(4, 3\)"):
        Linear(3, 4, W=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"b: expected shape \(4,\)"):
        Linear(3, 4, b=np.zeros(3))
