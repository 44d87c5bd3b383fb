"""The autodiff MLP as the third engine: node by node equal to the scalar and vectorized
engines for every activation/loss pair and depths 0-3, against finite differences, stable at
logits of ±700, on the lecture's numbers, and trained step for step like the others."""

from __future__ import annotations

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case

from scalarprop import MLP, autodiff, check_gradients, compare_engines, scalar, vectorized
from scalarprop.autodiff import AutodiffMLP, TensorNode
from scalarprop.engines import get_engine
from scalarprop.examples import lecture_network

CASES = [(h, o, l, d) for d in range(4) for h in (HIDDEN if d else ("sigmoid",))
         for o, l in HEADS]


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
@pytest.mark.parametrize("other", ["scalar", "vectorized"])
def test_autodiff_equals_the_other_engines_node_by_node(hidden, output, loss, depth, other):
    net, X, T = make_case(hidden, output, loss, depth, seed=depth)
    cmp = compare_engines(net, X, T, engines=("autodiff", other))
    assert cmp.ok(1e-12), str(cmp)
    la, ga = autodiff.loss_and_grad(net, X, T)
    lo, go = (scalar if other == "scalar" else vectorized).loss_and_grad(net, X, T)
    assert abs(la - lo) <= 1e-12 * max(abs(lo), 1.0)
    assert np.abs(ga - go).max() <= 1e-12 * max(np.abs(go).max(), 1e-300)
    assert autodiff.loss(net, X, T) == la


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
def test_autodiff_gradients_match_finite_differences(hidden, output, loss, depth):
    net, X, T = make_case(hidden, output, loss, depth, seed=20 + depth)
    before = net.params.copy()
    result = check_gradients(net, X, T, engine="autodiff")
    assert result.ok, str(result)
    assert result.engine == "autodiff"
    assert np.array_equal(net.params, before)


def test_nodes_have_the_other_engines_keys_and_shapes():
    net, X, T = make_case("tanh", "softmax", "ce", 2, n=6)
    a, v = autodiff.nodes(net, X, T), vectorized.nodes(net, X, T)
    assert set(a) == set(v)
    for key in v:
        assert np.shape(a[key]) == np.shape(v[key]), key
    assert isinstance(a["loss"], float)


@pytest.mark.parametrize("output,loss", [("sigmoid", "bce"), ("softmax", "ce")])
def test_output_gradient_is_dl_dy_and_logit_gradient_is_y_minus_t(output, loss):
    net, X, T = make_case("sigmoid", output, loss, 1, n=7)
    n = autodiff.nodes(net, X, T)
    Y = n["h2"]
    if loss == "bce":
        np.testing.assert_allclose(n["h2_grad"], np.where(T == 1, -1 / Y, 1 / (1 - Y)),
                                   rtol=1e-12)
        np.testing.assert_allclose(n["k2_grad"], Y - T, atol=1e-15)
    else:
        onehot = np.eye(Y.shape[1])[T]
        np.testing.assert_allclose(n["h2_grad"], np.where(onehot == 1, -1 / Y, 0.0),
                                   rtol=1e-12)
        np.testing.assert_allclose(n["k2_grad"], Y - onehot, atol=1e-15)


@pytest.mark.parametrize("output,loss", [("sigmoid", "bce"), ("softmax", "ce")])
def test_logits_of_700_give_no_nan_or_inf(output, loss):
    net = MLP([2, 3], hidden="sigmoid", output=output, loss=loss, seed=0)
    net.weights(0)[:] = [[350.0, 0.0], [-350.0, 0.0], [0.0, 1.0]]
    X = np.array([[2.0, 0.5], [-2.0, 0.1]])             # logits ±700
    T = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]) if loss == "bce" else np.array([1, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        la, ga = autodiff.loss_and_grad(net, X, T)
    lv, gv = vectorized.loss_and_grad(net, X, T)
    assert np.isfinite(la) and np.isfinite(ga).all()
    assert la == pytest.approx(lv, rel=1e-14) and la > 1000
    np.testing.assert_allclose(ga, gv, rtol=1e-14, atol=1e-12)
    cmp = compare_engines(net, X, T, engines=("autodiff", "vectorized"))
    assert cmp.ok(1e-12), str(cmp)


def test_lecture_network_numbers():
    net, x, t = lecture_network()
    model = AutodiffMLP(net)
    l = model.loss(x, t)
    l.backward()
    assert l.item() == pytest.approx(4.0, rel=1e-12)                    # (10.1 - 12.1)²
    grad = model.flat_grad()
    assert grad[net.param_index("W1[0,1]")] == pytest.approx(-3.96, rel=1e-12)   # slide 43
    assert model.forward(x).item() == pytest.approx(10.1, rel=1e-12)


def test_model_shares_the_flat_parameters_of_the_network():
    net, X, T = make_case("relu", "identity", "squared", 2)
    model = AutodiffMLP(net)
    assert model.params is net.params
    for l, layer in enumerate(model.layers):
        assert np.shares_memory(layer.W.value, net.params)
        assert np.array_equal(layer.W.value, net.weights(l))
        assert np.array_equal(layer.b.value, net.biases(l))
    assert [p.name for p in model.parameters()] == ["W0", "b0", "W1", "b1", "W2", "b2"]
    l = model.loss(X, T)
    l.backward()
    _, grad = autodiff.loss_and_grad(net, X, T)
    assert np.array_equal(model.flat_grad(), grad)
    before = net.params.copy()
    model.step(0.01)                                   # writes the network's buffer
    np.testing.assert_array_equal(net.params, before - 0.01 * grad)
    model.params = before
    assert np.array_equal(net.params, before)
    np.testing.assert_array_equal(model.forward(X).value, net.predict(X))


def test_create_and_graph_names():
    model = AutodiffMLP.create([3, 4, 2], hidden="tanh", output="softmax", loss="ce", seed=1)
    assert model.net.sizes == (3, 4, 2) and "ce" in repr(model)
    layers = model.layer_nodes(np.ones((2, 3)))
    assert [(k.name, h.name) for k, h in layers] == [("k1", "h1"), ("k2", "y")]
    l = model.loss(np.ones((2, 3)), [0, 1])
    text = autodiff.format_graph(l)
    for op in ("linear(x, W0, b0)", "tanh(k1)", "linear(h1, W1, b1)", "log_softmax(k2",
               "select", "sum", "negate"):
        assert op in text
    assert text.splitlines()[-1].startswith("loss")


def test_training_with_autodiff_follows_the_other_engines():
    nets = {e: make_case("sigmoid", "softmax", "ce", 1, seed=3, n=8)[0] for e in
            ("autodiff", "scalar", "vectorized")}
    _, X, T = make_case("sigmoid", "softmax", "ce", 1, seed=3, n=8)
    engines = {"autodiff": autodiff, "scalar": scalar, "vectorized": vectorized}
    losses = {e: [] for e in nets}
    for _ in range(20):
        for e, net in nets.items():
            l, g = engines[e].loss_and_grad(net, X, T)
            losses[e].append(l)
            net.params -= 0.1 * g
    scale = np.abs(nets["vectorized"].params).max()
    for e in ("scalar", "vectorized"):
        np.testing.assert_allclose(losses["autodiff"], losses[e], rtol=1e-12)
        assert np.abs(nets["autodiff"].params - nets[e].params).max() <= 1e-12 * scale
    assert losses["autodiff"][-1] < losses["autodiff"][0]


@pytest.mark.parametrize("fn", [autodiff.loss_and_grad, autodiff.loss, autodiff.nodes])
def test_bad_input_is_refused_and_leaves_parameters_alone(fn):
    net, X, T = make_case("sigmoid", "softmax", "ce", 1)
    before = net.params.copy()
    with pytest.raises(ValueError, match="X: expected shape"):
        fn(net, X[:, :2], T)
    with pytest.raises(ValueError, match="class labels"):
        fn(net, X, np.full(len(X), 7))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fn(net, bad, T)
    assert np.array_equal(net.params, before)


def test_model_refuses_bad_input():
    with pytest.raises(ValueError, match="scalarprop.MLP"):
        AutodiffMLP([2, 3, 1])
    model = AutodiffMLP.create([2, 1], seed=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(n, 2\)"):
        model.forward(TensorNode(np.ones((3, 3))))
    with pytest.raises(ValueError, match="x: expected shape"):
        model.loss(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="T: expected shape"):
        model.loss(np.ones((3, 2)), np.ones(4))


def test_gradients_are_computed_into_the_flat_buffer_without_copies():
    net, X, T = make_case("sigmoid", "identity", "squared", 1)
    model = AutodiffMLP(net)
    buf = np.full(net.num_params, np.nan)
    model.grads_into(buf)
    model.loss(X, T).backward()
    W0 = model.layers[0].W
    assert W0.grad is W0.grad_out and np.shares_memory(W0.grad, buf)
    assert model.flat_grad() is buf
    np.testing.assert_array_equal(buf, vectorized.loss_and_grad(net, X, T)[1])
    _, g1 = autodiff.loss_and_grad(net, X, T)
    _, g2 = autodiff.loss_and_grad(net, X, T)
    assert not np.shares_memory(g1, g2) and np.array_equal(g1, g2)
    with pytest.raises(ValueError, match="contiguous float64"):
        model.grads_into(np.zeros(3))


@pytest.mark.parametrize("engine", ["scalar", "vectorized", "autodiff"])
@pytest.mark.parametrize("output,loss", [("sigmoid", "bce"), ("softmax", "ce")])
def test_dl_dy_stays_finite_where_y_rounds_to_0_or_1(engine, output, loss):
    # logits of ±40: y rounds to 1 (or 0) in float64, yet dl/dy = 1/(1-y) = 1 + e^40 exactly
    net = MLP([1, 2], hidden="sigmoid", output=output, loss=loss, seed=0)
    net.weights(0)[:] = [[40.0], [-40.0]]
    X = np.array([[1.0]])
    T = np.array([[0.0, 1.0]]) if loss == "bce" else np.array([1])
    h_grad = get_engine(engine).nodes(net, X, T)["h1_grad"][0]
    if loss == "bce":
        expected = [1.0 + np.exp(40.0), -(1.0 + np.exp(40.0))]
    else:
        expected = [0.0, -(1.0 + np.exp(80.0))]
    np.testing.assert_allclose(h_grad, expected, rtol=1e-14)
