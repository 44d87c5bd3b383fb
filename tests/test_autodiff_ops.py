"""Every autodiff op's backward against central finite differences of its forward, on random
inputs, including broadcast shapes; and the ops' numerical stability at ±700."""

from __future__ import annotations

import numpy as np
import pytest

from scalarprop import autodiff as ad
from scalarprop.autodiff import TensorNode


def numeric_grads(fn, arrays, R, eps=1e-6):
    """Central differences of ``sum(fn(*arrays) * R)`` for every element of every array,
    through the forward values only."""
    def f():
        return float(np.sum(fn(*[TensorNode(a) for a in arrays]).value * R))

    out = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + eps
            fp = f()
            a[i] = old - eps
            fm = f()
            a[i] = old
            g[i] = (fp - fm) / (2 * eps)
        out.append(g)
    return out


def check_op(fn, *arrays, seed=0, rtol=1e-6, atol=1e-8):
    arrays = [np.array(a, dtype=float) for a in arrays]
    nodes = [TensorNode(a.copy()) for a in arrays]
    out = fn(*nodes)
    R = np.random.default_rng(seed + 100).normal(size=out.shape)
    l = (out * R).sum()
    l.backward()
    numeric = numeric_grads(fn, arrays, R)
    for k, (node, num) in enumerate(zip(nodes, numeric)):
        assert node.grad.shape == node.value.shape
        np.testing.assert_allclose(node.grad, num, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {k}")
    return nodes, out


rng = np.random.default_rng(42)


def rand(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def away_from_zero(*shape):
    return rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


BROADCAST_PAIRS = [
    ((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)), ((), (3, 4)), ((3, 4), ()), ((2, 1, 4), (2, 3, 1)),
]


@pytest.mark.parametrize("sa,sb", BROADCAST_PAIRS)
@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide"])
def test_binary_ops_with_broadcasting(op, sa, sb):
    fn = {"add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
          "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b}[op]
    b = away_from_zero(*sb) if op == "divide" else rand(*sb)
    nodes, out = check_op(fn, rand(*sa), b)
    assert out.shape == np.broadcast_shapes(sa, sb)


def test_the_named_functions_are_the_operators():
    a, b = rand(3, 4), away_from_zero(4)
    for fn, ref in [(ad.add, np.add), (ad.subtract, np.subtract), (ad.multiply, np.multiply),
                    (ad.divide, np.divide)]:
        check_op(fn, a, b)
        assert np.array_equal(fn(TensorNode(a), TensorNode(b)).value, ref(a, b))


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("name", ["negate", "exp", "sin", "cos", "sigmoid", "tanh", "softplus",
                                  "square", "log", "relu", "abs"])
def test_elementwise_ops(name, shape):
    x = rand(*shape)
    if name == "log":
        x = rng.uniform(0.2, 3.0, size=shape)
    if name in ("relu", "abs"):           # keep central differences off the kink
        x = away_from_zero(*shape)
    fn = {"negate": ad.negate, "square": ad.square}.get(name) or getattr(ad, name)
    check_op(fn, x)


def test_elementwise_values_are_the_functions():
    x = rand(7)
    pairs = {"exp": np.exp, "log": None, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
             "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "relu": lambda v: np.maximum(v, 0),
             "abs": np.abs, "softplus": lambda v: np.log1p(np.exp(v))}
    for name, ref in pairs.items():
        if ref is None:
            np.testing.assert_allclose(ad.log(TensorNode(np.abs(x))).value, np.log(np.abs(x)))
            continue
        np.testing.assert_allclose(getattr(ad, name)(TensorNode(x)).value, ref(x), rtol=1e-14,
                                   err_msg=name)


@pytest.mark.parametrize("p", [3.0, 0.5, -1.5, 2.0, 1.0])
def test_power_with_a_constant_exponent(p):
    x = rng.uniform(0.3, 2.0, size=(3, 4))
    nodes, out = check_op(lambda a: a ** p, x)
    np.testing.assert_allclose(out.value, x ** p)
    assert out.source.constants == {"p": p}        # the exponent is a constant: no node


def test_power_refuses_a_tensor_exponent():
    with pytest.raises(ValueError, match="exponent"):
        TensorNode(2.0) ** TensorNode(3.0)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)),
                                   ((4,), (4,)), ((1, 5), (5, 1))])
def test_matmul(sa, sb):
    nodes, out = check_op(lambda a, b: a @ b, rand(*sa), rand(*sb))
    np.testing.assert_allclose(out.value, nodes[0].value @ nodes[1].value)


def test_matmul_refuses_batched_tensors():
    with pytest.raises(ValueError, match="matmul"):
        TensorNode(rand(2, 3, 4)) @ TensorNode(rand(4, 2))


def test_matmul_skips_the_gradient_of_a_constant():
    X = TensorNode(rand(5, 3), requires_grad=False)
    W = TensorNode(rand(2, 3))
    (X @ W.T).sum().backward()
    assert not X.has_grad
    np.testing.assert_allclose(W.grad, np.ones((5, 2)).T @ X.value)


def test_transpose_and_layer_form():
    check_op(lambda a: a.T, rand(3, 4))
    # the Linear layer's form: k = x Wᵀ + b, gradients for x, W and b
    check_op(lambda x, W, b: x @ W.T + b, rand(5, 3), rand(4, 3), rand(4))


def test_linear_op_is_x_Wt_plus_b():
    x, W, b = rand(5, 3), rand(4, 3), rand(4)
    nodes, out = check_op(ad.linear, x, W, b)
    assert np.array_equal(out.value, x @ W.T + b)
    with pytest.raises(ValueError, match="linear"):
        ad.linear(TensorNode(rand(5, 2)), TensorNode(W), TensorNode(b))


def test_an_op_computes_into_grad_out_and_the_walk_accumulates_there():
    W, b = TensorNode(rand(4, 3)), TensorNode(rand(4))
    Wbuf, bbuf = np.empty((4, 3)), np.empty(4)
    W.grad_out, b.grad_out = Wbuf, bbuf
    x = rand(5, 3)
    k = ad.linear(x, W, b)
    l = (k * k).sum() + (W * W).sum()            # W used by two ops: both add up in Wbuf
    l.backward()
    assert W.grad is Wbuf and b.grad is bbuf
    np.testing.assert_allclose(Wbuf, (2 * k.value).T @ x + 2 * W.value, rtol=1e-13)
    np.testing.assert_allclose(bbuf, (2 * k.value).sum(axis=0), rtol=1e-13)
    # an op that does not use grad_out: its gradient is copied in
    y = TensorNode(rand(3))
    y.grad_out = ybuf = np.empty(3)
    (y * 3.0).sum().backward()
    assert y.grad is ybuf and np.array_equal(ybuf, np.full(3, 3.0))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, False), (-1, True),
                                           ((0, 2), False), ((0, 2), True), (None, True)])
def test_sum(axis, keepdims):
    x = rand(2, 3, 4)
    nodes, out = check_op(lambda a: ad.sum(a, axis=axis, keepdims=keepdims), x)
    assert out.shape == np.sum(x, axis=axis, keepdims=keepdims).shape


def test_sum_refuses_bad_axes():
    with pytest.raises(ValueError, match="axis"):
        TensorNode(rand(2, 3)).sum(axis=2)
    with pytest.raises(ValueError, match="repeated"):
        TensorNode(rand(2, 3)).sum(axis=(0, -2))


def test_row_sum():
    nodes, out = check_op(ad.row_sum, rand(4, 3))
    assert out.shape == (4,)
    with pytest.raises(ValueError, match="matrix"):
        ad.row_sum(TensorNode(rand(3)))


@pytest.mark.parametrize("xshape,shape", [((), (2, 3)), ((1,), (4,)), ((3, 1), (3, 4)),
                                          ((4,), (2, 4))])
def test_expand(xshape, shape):
    nodes, out = check_op(lambda a: ad.expand(a, shape), rand(*xshape))
    assert out.shape == shape


def test_expand_of_a_scalar_is_the_lectures_expand():
    x = TensorNode(1.5)
    Y = ad.expand(x, (2, 3))
    assert np.array_equal(Y.value, np.full((2, 3), 1.5))
    G = rng.normal(size=(2, 3))
    (Y * G).sum().backward()
    assert x.grad == pytest.approx(G.sum(), rel=1e-15)      # x∇ = Σ_ab Y∇_ab
    with pytest.raises(ValueError, match="expand"):
        ad.expand(TensorNode(rand(3)), (2, 4))


@pytest.mark.parametrize("index", [
    1, (1, 2), slice(1, 3), (slice(None), 0), (np.array([0, 2, 2, 1]), np.array([1, 0, 0, 3])),
    np.array([2, 2, 0]),
])
def test_select(index):
    x = rand(3, 4)
    nodes, out = check_op(lambda a: a[index], x)
    assert np.array_equal(out.value, x[index])


def test_select_sums_the_gradient_of_an_element_selected_twice():
    x = TensorNode(rand(3, 2))
    y = ad.select(x, (np.array([1, 1, 0]), np.array([0, 0, 1])))
    y.sum().backward()
    assert np.array_equal(x.grad, [[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]])


def test_select_refuses_a_tensor_index_and_pick_checks_labels():
    with pytest.raises(ValueError, match="constant"):
        ad.select(TensorNode(rand(3)), TensorNode(np.array([0.0])))
    with pytest.raises(ValueError, match="integer"):
        ad.pick(TensorNode(rand(3, 2)), [0, 1.5, 1])
    with pytest.raises(ValueError, match="3 integer"):
        ad.pick(TensorNode(rand(3, 2)), [0, 1])


def test_pick():
    t = np.array([2, 0, 1, 2])
    nodes, out = check_op(lambda a: ad.pick(a, t), rand(4, 3))
    assert np.array_equal(out.value, nodes[0].value[np.arange(4), t])


@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 4), ()), ((4,), (3, 4))])
def test_where(sa, sb):
    cond = rng.random(size=(3, 4)) < 0.5
    check_op(lambda a, b: ad.where(cond, a, b), rand(*sa), rand(*sb))


def test_where_gives_the_branch_not_taken_an_exact_zero_even_next_to_infinity():
    y = TensorNode(np.array([0.0, 0.5]))
    with np.errstate(divide="ignore"):
        l = -ad.log(ad.where(np.array([True, False]), y, 1.0 - y)).sum()
        l.backward()
    assert np.array_equal(y.grad, [-np.inf, 2.0])       # -1/y and 1/(1-y), no NaN


@pytest.mark.parametrize("shape,axis", [((4, 3), -1), ((4, 3), 0), ((2, 3, 4), 1), ((5,), 0)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax(name, shape, axis):
    x = rand(*shape)
    fn = lambda a: getattr(ad, name)(a, axis=axis)
    nodes, out = check_op(fn, x)
    e = np.exp(x)
    sm = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(out.value, sm if name == "softmax" else np.log(sm), rtol=1e-13)


def test_softmax_refuses_a_bad_axis():
    with pytest.raises(ValueError, match="axis"):
        ad.softmax(TensorNode(rand(2, 3)), axis=2)


# -- stability --------------------------------------------------------------------------------

BIG = np.array([-700.0, -30.0, 0.0, 30.0, 700.0])


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "tanh"])
def test_elementwise_ops_are_stable_at_700(name):
    x = TensorNode(BIG.copy())
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = getattr(ad, name)(x)
        y.sum().backward()
    assert np.isfinite(y.value).all() and np.isfinite(x.grad).all()
    if name == "sigmoid":
        assert y.value[-1] == 1.0 and 0.0 < y.value[0] < 1e-300
    if name == "softplus":
        assert y.value[-1] == 700.0 and x.grad[-1] == 1.0


def test_softmax_ops_and_losses_from_logits_are_stable_at_700():
    z = TensorNode(np.array([[700.0, -700.0, 0.0], [-700.0, 700.0, 699.0]]))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ls = ad.log_softmax(z)
        sm = ad.softmax(z)
        ce = -ad.pick(ls, np.array([1, 0])).sum()
        ce.backward()
        bce = (ad.softplus(z) - z * np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])).sum()
    assert np.isfinite(ls.value).all() and np.isfinite(sm.value).all()
    assert ce.item() == pytest.approx(1400.0 + 1400.0 + np.log1p(np.exp(-1.0)), rel=1e-15)
    assert np.isfinite(z.grad).all()
    np.testing.assert_allclose(z.grad, sm.value - np.array([[0, 1, 0], [1, 0, 0]]), atol=1e-15)
    assert np.isfinite(bce.value)
