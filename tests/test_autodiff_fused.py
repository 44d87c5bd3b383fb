"""The fused ops (a whole layer, a whole loss, in one op) against finite differences and
against the readable graph of linear, activation and loss ops; the step folded into the
backward walk against the gradient followed by the step; the engine's fast epoch against the
vectorized engine and against its own checked epoch."""

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case

from scalarprop import testing
from scalarprop.autodiff import AutodiffMLP, TensorNode, linear
from scalarprop.engines import get_engine
from scalarprop.engines.autodiff import engine
from scalarprop.engines.autodiff.engine import backward_reusing_buffers
from scalarprop.engines.autodiff.fused import (
    Buffers,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
    dense,
    descend,
)
from scalarprop.validate import check_batch

rng = np.random.default_rng(7)
ACTS = ("identity", "sigmoid", "tanh", "relu")


def gradient_of_each_input(build, arrays):
    """Each input's gradient from the fused op's backward, and ``f`` of each input for the
    finite differences (the others held fixed)."""
    nodes = [TensorNode(a.copy()) for a in arrays]
    build(*nodes).backward()
    fns = []
    for i in range(len(arrays)):
        def f(v, i=i):
            args = [TensorNode(v if j == i else a, requires_grad=False)
                    for j, a in enumerate(arrays)]
            return float(build(*args).value)
        fns.append(f)
    return [n.grad for n in nodes], fns


@pytest.mark.parametrize("activation", ACTS)
def test_dense_matches_finite_differences(activation):
    x, W, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    x[0, 0] = 0.3                       # no pre-activation at relu's kink
    R = rng.normal(size=(5, 4))

    def build(x, W, b):
        return (dense(x, W, b, activation) * R).sum()

    grads, fns = gradient_of_each_input(build, [x, W, b])
    for a, g, f in zip([x, W, b], grads, fns):
        testing.assert_gradients_close(f, a, g)


@pytest.mark.parametrize("activation", ACTS)
def test_dense_with_a_constant_bias_gives_the_other_gradients(activation):
    x, W, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    R = rng.normal(size=(5, 4))
    grads = []
    for b_is_constant in (False, True):
        xn, Wn = TensorNode(x.copy()), TensorNode(W.copy())
        bn = TensorNode(b.copy(), requires_grad=not b_is_constant)
        (dense(xn, Wn, bn, activation) * R).sum().backward()
        assert bn.has_grad is not b_is_constant
        grads.append((xn.grad, Wn.grad))
    for a, c in zip(*grads):
        np.testing.assert_array_equal(c, a)


@pytest.mark.parametrize("op,targets", [
    (SoftmaxCrossEntropy, lambda n, K: rng.integers(0, K, size=(n, 1)).astype(float)),
    (SigmoidCrossEntropy, lambda n, K: rng.integers(0, 2, size=(n, K)).astype(float)),
    (SquaredError, lambda n, K: rng.normal(size=(n, K))),
])
def test_each_loss_op_matches_finite_differences(op, targets):
    z, t = rng.normal(size=(6, 3)) * 3, targets(6, 3)
    grads, fns = gradient_of_each_input(lambda z: op.apply(z, t=t) * 1.7, [z])
    testing.assert_gradients_close(fns[0], z, grads[0])


@pytest.mark.parametrize("activation", ACTS)
def test_dense_is_linear_then_the_activation(activation):
    x, W, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    R = rng.normal(size=(5, 4))
    nodes = [[TensorNode(a.copy()) for a in (x, W, b)] for _ in range(2)]
    k = linear(*nodes[0])
    h = k if activation == "identity" else getattr(k, activation)()
    (h * R).sum().backward()
    fused = dense(*nodes[1], activation)
    (fused * R).sum().backward()
    np.testing.assert_allclose(fused.value, h.value, rtol=1e-14, atol=1e-15)
    for a, b_ in zip(nodes[0], nodes[1]):
        np.testing.assert_allclose(b_.grad, a.grad, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("depth", [0, 1, 2])
@pytest.mark.parametrize("hidden,output,loss", [(h, o, l) for h in HIDDEN for o, l in HEADS])
def test_the_fused_graph_is_the_readable_graph(hidden, output, loss, depth):
    net, X, T = make_case(hidden, output, loss, depth, seed=5)
    Xc, Tc = check_batch(net, X, T)
    readable = AutodiffMLP(net)
    l_readable = readable.loss(Xc, Tc)
    l_readable.backward()
    fused = AutodiffMLP(net)
    l_fused = fused.fused_loss(TensorNode(Xc, requires_grad=False), Tc)
    l_fused.backward()
    assert float(l_fused.value) == pytest.approx(float(l_readable.value), rel=1e-13, abs=1e-14)
    np.testing.assert_allclose(fused.flat_grad(), readable.flat_grad(), rtol=1e-12,
                               atol=1e-13)


@pytest.mark.parametrize("x_order,g_order", [("C", "C"), ("C", "F"), ("F", "C"), ("F", "F")])
def test_descend_is_the_step_for_every_memory_order(x_order, g_order):
    x = np.asarray(rng.normal(size=(6, 4)), order=x_order)
    G = np.asarray(rng.normal(size=(3, 6)), order=g_order)     # K∇ᵀ: a unit per row
    W = rng.normal(size=(3, 4))
    expected = W - 0.1 * (G @ x)
    W_before = W
    descend(W, 0.1, G, x)
    assert W is W_before
    np.testing.assert_allclose(W, expected, rtol=1e-14, atol=1e-15)


def stepped_and_plain(build, lr=0.05):
    """The parameters after the walk with the step folded in, and after the plain walk
    followed by ``θ ← θ − α θ∇``, from the same starting values."""
    params = []
    for fold in (True, False):
        loss, ps = build()
        if fold:
            backward_reusing_buffers(loss, step=ps, lr=lr)
            assert all(not p.has_grad for p in ps)
        else:
            loss.backward()
            for p in ps:
                p.value -= lr * p.grad
        params.append([p.value.copy() for p in ps])
    return params


def test_a_parameter_used_by_one_op_is_stepped_by_the_op_and_one_used_twice_by_the_walk():
    x0, W0, b0, V0 = (rng.normal(size=s) for s in ((5, 3), (4, 3), (4,), (2, 4)))

    def build():
        W, b, V = TensorNode(W0.copy()), TensorNode(b0.copy()), TensorNode(V0.copy())
        h = dense(x0, W, b, "sigmoid")
        z = dense(h, V, b[:2], "identity")          # b used twice: stepped by the walk
        # V too, and the walk reaches V * V after the dense op: a step taken there would
        # change the V that multiply's backward reads
        return (V * V).sum() + (z * z).sum(), [W, b, V]

    folded, plain = stepped_and_plain(build)
    for a, b in zip(folded, plain):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_parameters_not_in_one_block_are_stepped_by_the_walk():
    x0, b0 = rng.normal(size=(5, 3)), rng.normal(size=8)
    W0 = np.asfortranarray(rng.normal(size=(4, 3)))     # not C-contiguous: no in-place dgemm

    def build():
        # b: every other element of a vector, no in-place dgemv
        W, b = TensorNode(W0.copy(order="F")), TensorNode(b0.copy()[::2])
        return (dense(x0, W, b, "tanh") ** 2).sum(), [W, b]

    folded, plain = stepped_and_plain(build)
    for a, b in zip(folded, plain):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_buffers_are_reused_and_keyed_by_shape():
    buffers = Buffers()
    a = buffers.get("K", (3, 4))
    assert buffers.get("K", (3, 4)) is a
    assert buffers.get("K", (3, 2)) is not a and buffers.get("H", (3, 4)) is not a
    x, W, b = rng.normal(size=(4, 2)), rng.normal(size=(3, 2)), rng.normal(size=3)
    h1 = dense(x, W, b, "sigmoid", buffers)
    first = h1.value.copy()
    dense(2 * x, W, b, "sigmoid", buffers)         # the next step overwrites the first
    assert not np.array_equal(h1.value, first)


@pytest.mark.parametrize("hidden,output,loss", [(h, o, l) for h in HIDDEN for o, l in HEADS])
def test_the_fast_epoch_is_the_vectorized_engine_and_the_checked_epoch(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 2, seed=11, n=9)
    Xc, Tc = check_batch(net, X, T)
    for order in (np.arange(9), np.random.default_rng(1).permutation(9)):
        results = {}
        for name, epoch in (("fast", engine.train_epoch),
                            ("checked", engine.checked_epoch),
                            ("vectorized", get_engine("vectorized").train_epoch)):
            work, losses = net.copy(), np.empty(5)
            assert epoch(work, Xc, Tc, order, 2, 0.05, losses) == -1
            results[name] = (work.params, losses)
        for name in ("checked", "vectorized"):
            np.testing.assert_allclose(results["fast"][0], results[name][0], rtol=1e-12,
                                       atol=1e-13, err_msg=name)
            np.testing.assert_allclose(results["fast"][1], results[name][1], rtol=1e-12,
                                       atol=1e-13, err_msg=name)


def test_a_diverging_fast_epoch_stops_where_the_checked_epoch_stops():
    net, X, T = make_case("relu", "identity", "squared", 1, seed=2, n=8)
    Xc, Tc = check_batch(net, X * 1e3, T)
    fast, checked = net.copy(), net.copy()
    losses_fast, losses_checked = np.full(8, -1.0), np.full(8, -1.0)
    failed = engine.train_epoch(fast, Xc, Tc, np.arange(8), 1, 1e3, losses_fast)
    assert failed == engine.checked_epoch(checked, Xc, Tc, np.arange(8), 1, 1e3,
                                          losses_checked) > 0
    np.testing.assert_array_equal(fast.params, checked.params)
    assert np.isfinite(fast.params).all()
    np.testing.assert_array_equal(losses_fast[:failed], losses_checked[:failed])
