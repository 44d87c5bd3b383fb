"""Scalar and vectorized engines against each other, node by node, and against finite
differences, for every activation/loss pair and depths 0-3."""

import itertools

import numba
import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case, scalar_uncompiled

from scalarprop import MLP, check_gradients, compare_engines, scalar, vectorized

CASES = [(h, o, l, d) for d in range(4) for h in (HIDDEN if d else ("sigmoid",))
         for o, l in HEADS]


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
def test_engines_agree_node_by_node(hidden, output, loss, depth):
    net, X, T = make_case(hidden, output, loss, depth, seed=depth)
    cmp = compare_engines(net, X, T)
    assert cmp.ok(1e-12), str(cmp)
    # and the gradient itself, relative to its scale
    _, gs = scalar.loss_and_grad(net, X, T)
    _, gv = vectorized.loss_and_grad(net, X, T)
    assert np.abs(gs - gv).max() <= 1e-12 * max(np.abs(gv).max(), 1e-300)


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
@pytest.mark.parametrize("engine", ["scalar", "vectorized"])
def test_gradients_match_finite_differences(hidden, output, loss, depth, engine):
    net, X, T = make_case(hidden, output, loss, depth, seed=10 + depth)
    before = net.params.copy()
    result = check_gradients(net, X, T, engine=engine)
    assert result.ok, str(result)
    assert np.array_equal(net.params, before)      # restored exactly


def test_finite_difference_check_catches_a_wrong_gradient(monkeypatch):
    net, X, T = make_case("sigmoid", "identity", "squared", 1)
    real = scalar.loss_and_grad

    def broken(net_, X_, T_):
        loss, grad = real(net_, X_, T_)
        grad[net_.param_index("W0[1,2]")] *= 1.5
        return loss, grad

    monkeypatch.setattr(scalar, "loss_and_grad", broken)
    result = check_gradients(net, X, T, engine="scalar")
    assert not result.ok
    assert result.worst == "W0[1,2]"
    assert result.failures == ["W0[1,2]"]
    with pytest.raises(AssertionError, match="W0\\[1,2\\]"):
        check_gradients(net, X, T, engine="scalar", raise_on_failure=True)


def test_dead_relu_layer_is_reported_at_a_kink_not_failed():
    # zero biases and a dead first layer: every k of the second layer is exactly 0
    net = MLP([2, 3, 3, 1], hidden="relu", seed=1)
    net.biases(0)[:] = 0.0
    net.biases(1)[:] = 0.0
    net.weights(0)[:] = -np.abs(net.weights(0))
    X = np.array([[1.0, 2.0]])
    T = np.array([[0.5]])
    result = check_gradients(net, X, T)
    assert result.ok, str(result)
    assert result.kinks, str(result)
    assert set(result.kinks) <= {f"b1[{j}]" for j in range(3)}
    assert "at a kink" in str(result)


def test_absolute_loss_at_its_kink_is_flagged():
    net = MLP([2, 1], output="identity", loss="absolute", seed=0)
    X = np.array([[0.5, -1.0]])
    T = net.predict(X)            # y == t exactly: |y - t| at its kink
    result = check_gradients(net, X, T)
    assert result.ok and set(result.kinks) == set(net.param_names), str(result)


@pytest.mark.parametrize("hidden,output,loss", [(h, o, l) for h in HIDDEN for o, l in HEADS])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_extreme_logits_give_finite_loss_and_gradient(hidden, output, loss, sign):
    net, X, T = make_case(hidden, output, loss, 1, seed=3)
    # scale the output layer so its pre-activations reach about +-700
    Z = vectorized.forward(net, np.ascontiguousarray(X))[-1][0]
    net.weights(1)[:] *= 700.0 / np.abs(Z).max() * sign
    net.biases(1)[:] *= 700.0 / np.abs(Z).max() * sign
    Z = vectorized.forward(net, np.ascontiguousarray(X))[-1][0]
    assert np.abs(Z).max() == pytest.approx(700, rel=0.01)
    for engine in (scalar, vectorized):
        l, g = engine.loss_and_grad(net, X, T)
        assert np.isfinite(l) and np.isfinite(g).all(), engine.__name__


@pytest.mark.parametrize("hidden", HIDDEN)
def test_extreme_hidden_preactivations(hidden):
    net, X, T = make_case(hidden, "softmax", "ce", 2, seed=4)
    net.weights(0)[:] *= 700.0 / np.abs(X @ net.weights(0).T).max()
    for engine in (scalar, vectorized):
        l, g = engine.loss_and_grad(net, X, T)
        assert np.isfinite(l) and np.isfinite(g).all()


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="compares compiled with uncompiled")
@pytest.mark.parametrize("hidden,output,loss", [("sigmoid", "identity", "squared"),
                                                 ("tanh", "softmax", "ce"),
                                                 ("relu", "sigmoid", "bce"),
                                                 ("identity", "identity", "hinge")])
def test_uncompiled_kernels_equal_compiled(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 2, seed=5)
    U = sum(net.sizes[1:])
    g_jit, g_py = np.empty(net.num_params), np.empty(net.num_params)
    l_jit = scalar.loss_and_grad_kernel(net.params, net.spec, X, T if loss != "ce" else
                                        T.astype(float)[:, None], np.zeros((1, 4 * U)), g_jit)
    l_py = scalar.loss_and_grad_kernel.py_func(net.params, net.spec, X, T if loss != "ce" else
                                               T.astype(float)[:, None], np.zeros((1, 4 * U)),
                                               g_py)
    assert l_py == l_jit
    np.testing.assert_array_equal(g_py, g_jit)


def test_numba_disable_jit_gives_the_same_numbers(tmp_path):
    net, X, T = make_case("tanh", "softmax", "ce", 2, seed=6)
    loss, grad = scalar.loss_and_grad(net, X, T)
    (out,) = scalar_uncompiled(tmp_path, [(net, X, T)], "loss_and_grad")
    assert out["loss"] == loss
    np.testing.assert_array_equal(out["grad"], grad)


def test_single_example_is_a_batch_of_one():
    net, X, T = make_case("sigmoid", "identity", "squared", 1)
    l1, g1 = scalar.loss_and_grad(net, X[0], T[0])
    l2, g2 = vectorized.loss_and_grad(net, X[:1], T[:1])
    assert l1 == pytest.approx(l2, rel=1e-14)
    np.testing.assert_allclose(g1, g2, rtol=1e-13, atol=1e-16)


def test_batch_loss_and_gradient_are_sums_over_examples():
    net, X, T = make_case("tanh", "softmax", "ce", 1, n=6)
    for engine in (scalar, vectorized):
        L, G = engine.loss_and_grad(net, X, T)
        parts = [engine.loss_and_grad(net, X[i:i + 1], T[i:i + 1]) for i in range(6)]
        assert L == pytest.approx(sum(p[0] for p in parts), rel=1e-13)
        np.testing.assert_allclose(G, sum(p[1] for p in parts), rtol=1e-12, atol=1e-14)


def test_noncontiguous_and_fortran_input_is_copied_not_refused():
    net, X, T = make_case("sigmoid", "identity", "squared", 1, n=6)
    XF = np.asfortranarray(X)
    Xs = np.repeat(X, 2, axis=0)[::2]
    Xi = (X * 4).round().astype(np.int32)
    for engine in (scalar, vectorized):
        ref = engine.loss_and_grad(net, X, T)
        for Xv in (XF, Xs):
            l, g = engine.loss_and_grad(net, Xv, T)
            assert l == ref[0]
            np.testing.assert_array_equal(g, ref[1])
        li, _ = engine.loss_and_grad(net, Xi, T)
        assert li == engine.loss_and_grad(net, Xi.astype(float), T)[0]


def test_every_pair_is_constructible_and_bad_pairs_are_refused():
    for (o, l), h in itertools.product(HEADS, HIDDEN):
        MLP([2, 3, 1 if l == "hinge" else 3], h, o, l)
    bad = [dict(output="identity", loss="ce"), dict(output="softmax", loss="bce"),
           dict(output="sigmoid", loss="hinge")]
    for kw in bad:
        with pytest.raises(ValueError, match=kw["loss"]):
            MLP([2, 3, 3], **kw)
    with pytest.raises(ValueError, match="softmax"):
        MLP([2, 3, 1], output="softmax", loss="ce")
    with pytest.raises(ValueError, match="hinge"):
        MLP([2, 3, 2], output="identity", loss="hinge")
