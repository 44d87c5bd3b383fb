"""Bad input is refused at the boundary with a ValueError that says what and where, and
nothing is changed in the network."""

import numpy as np
import pytest
from cases import make_case

from scalarprop import MLP, check_gradients, compare_engines, scalar, vectorized

ENTRY_POINTS = {
    "scalar": scalar.loss_and_grad,
    "vectorized": vectorized.loss_and_grad,
    "check_gradients": check_gradients,
    "compare_engines": compare_engines,
}


def _bad_inputs():
    X = np.random.default_rng(0).normal(size=(4, 3))
    yield "wrong width", X[:, :2], np.zeros((4, 2)), "X.*shape"
    yield "3-d X", X[None], np.zeros((4, 2)), "X.*shape"
    yield "empty batch", X[:0], np.zeros((0, 2)), "empty"
    yield "NaN in X", np.where(X > 1, np.nan, X), np.zeros((4, 2)), "X.*NaN"
    yield "inf in X", np.where(X > 1, np.inf, X), np.zeros((4, 2)), "X.*NaN or inf"
    yield "complex X", X.astype(complex), np.zeros((4, 2)), "X.*complex"
    yield "object X", X.astype(object), np.zeros((4, 2)), "X.*not numeric"
    yield "string X", np.array([["a"] * 3] * 4), np.zeros((4, 2)), "X.*not numeric"
    yield "too few targets", X, np.zeros((3, 2)), "T.*shape"
    yield "wrong target width", X, np.zeros((4, 3)), "T.*shape"
    yield "NaN in T", X, np.full((4, 2), np.nan), "T.*NaN"


@pytest.mark.parametrize("name,X,T,match", list(_bad_inputs()), ids=lambda v: v
                         if isinstance(v, str) else "")
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_bad_batches_are_refused_and_nothing_changes(entry, name, X, T, match):
    net, _, _ = make_case("sigmoid", "identity", "squared", 1)
    before = net.params.copy()
    with pytest.raises(ValueError, match=match):
        ENTRY_POINTS[entry](net, X, T)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("T,match", [
    (np.array([0, 1, 3, 1]), r"T\[2\] = 3.*\[0, 3\)"),
    (np.array([0, 1, -1, 1]), r"T\[2\] = -1"),
    (np.array([0, 1.5, 2, 1]), r"T\[1\] = 1.5.*integers"),
    (np.zeros((4, 3)), "class indices"),
])
def test_ce_labels_out_of_range(T, match):
    net, X, _ = make_case("tanh", "softmax", "ce", 1, n=4)
    before = net.params.copy()
    for entry in ENTRY_POINTS.values():
        with pytest.raises(ValueError, match=match):
            entry(net, X, T)
    np.testing.assert_array_equal(net.params, before)


def test_bce_and_hinge_target_values():
    net, X, _ = make_case("tanh", "sigmoid", "bce", 1, n=4)
    with pytest.raises(ValueError, match=r"bce.*\{0, 1\}"):
        scalar.loss_and_grad(net, X, np.full((4, 2), 0.5))
    net, X, _ = make_case("tanh", "identity", "hinge", 1, n=4)
    with pytest.raises(ValueError, match=r"hinge.*\{-1, 1\}"):
        vectorized.loss_and_grad(net, X, np.array([0.0, 1, 1, -1]))


@pytest.mark.parametrize("kwargs,match", [
    (dict(sizes=[2]), "sizes"),
    (dict(sizes=[2, 0, 1]), r"sizes\[1\]"),
    (dict(sizes=[2, 2.5, 1]), r"sizes\[1\]"),
    (dict(sizes="abc"), "sizes"),
    (dict(sizes=5), "sizes"),
    (dict(sizes=[2, 1], hidden="softplus"), "hidden"),
    (dict(sizes=[2, 1], output="tanh"), "output"),
    (dict(sizes=[2, 1], loss="mse"), "loss"),
    (dict(sizes=[2, 1], output="softmax", loss="ce"), "softmax"),
    (dict(sizes=[2, 3], output="identity", loss="ce"), "ce"),
    (dict(sizes=[2, 3], output="identity", loss="hinge"), "hinge"),
])
def test_bad_networks_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


def test_bad_names_and_layers():
    net = MLP([2, 3, 1], seed=0)
    for name in ["W2[0,0]", "W0[3,0]", "W0[0,2]", "b0[3]", "v2", "W0[1]", "b0[1,1]"]:
        with pytest.raises(ValueError):
            net.param_index(name)
    with pytest.raises(ValueError, match="layer"):
        net.weights(2)
    with pytest.raises(ValueError, match="engine"):
        check_gradients(net, np.zeros((1, 2)), np.zeros(1), engine="torch")
    with pytest.raises(ValueError, match="eps"):
        check_gradients(net, np.zeros((1, 2)), np.zeros(1), eps=0.0)
    with pytest.raises(ValueError, match="params"):
        net.params = np.zeros(3)


def test_bad_scalars_are_refused():
    from scalarprop import train

    with pytest.raises(ValueError, match="seed"):
        MLP([2, 3, 1], seed="abc")
    with pytest.raises(ValueError, match="seed"):
        MLP([2, 3, 1], seed=-1)
    net = MLP([2, 3, 1], seed=0)
    X, T = np.ones((2, 2)), np.ones(2)
    for kwargs, match in [(dict(shuffle="yes"), "shuffle"), (dict(progress="no"), "progress"),
                          (dict(seed=1.5), "seed")]:
        with pytest.raises(ValueError, match=match):
            train(net, X, T, **kwargs)
    for kwargs, match in [(dict(atol="x"), "atol"), (dict(rtol=-1.0), "rtol"),
                          (dict(eps=float("nan")), "eps")]:
        with pytest.raises(ValueError, match=match):
            check_gradients(net, X, T, **kwargs)
