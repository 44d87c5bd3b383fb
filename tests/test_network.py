"""The network's buffer, views, names, copies and files."""

import numpy as np
import pytest

from scalarprop import MLP, vectorized


def test_params_is_one_contiguous_buffer_and_views_write_into_it():
    net = MLP([3, 4, 2], seed=1)
    assert net.params.ndim == 1 and net.params.flags.c_contiguous
    assert net.params.dtype == np.float64 and net.num_params == 3 * 4 + 4 + 4 * 2 + 2
    assert net.params.ctypes.data % 64 == 0
    W, b = net.weights(0), net.biases(0)
    assert W.shape == (4, 3) and b.shape == (4,)
    assert np.shares_memory(W, net.params) and np.shares_memory(net.weights(1), net.params)
    W[2, 1] = 7.5
    assert net.params[net.param_index("W0[2,1]")] == 7.5 == net.params[2 * 3 + 1]
    net.biases(1)[1] = -3.0
    assert net.params[-1] == -3.0
    net.params = np.arange(net.num_params, dtype=float)
    assert W[0, 0] == 0.0 and W[3, 2] == 11.0        # the views stay attached


def test_names_cover_every_index_in_order():
    net = MLP([2, 3, 1], seed=0)
    names = net.param_names
    assert len(names) == net.num_params == len(set(names))
    assert names[:3] == ["W0[0,0]", "W0[0,1]", "W0[1,0]"] and names[-1] == "b1[0]"
    for i, n in enumerate(names):
        assert net.param_index(n) == i and net.param_name(i) == n


def test_k_is_W_x_plus_b():
    net = MLP([3, 2], output="identity", seed=4)
    x = np.array([1.0, -2.0, 0.5])
    W, b = net.weights(0), net.biases(0)
    # the lecture's loop: k[j] += w[i,j] x[i] with w[i,j] = W[j,i]
    k = [sum(W[j, i] * x[i] for i in range(3)) + b[j] for j in range(2)]
    np.testing.assert_allclose(net.predict(x), k, rtol=1e-15)


def test_seeded_glorot_initialisation():
    a, b = MLP([64, 32, 10], seed=3), MLP([64, 32, 10], seed=3)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, MLP([64, 32, 10], seed=4).params)
    W = a.weights(0)
    limit = np.sqrt(6 / (64 + 32))
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit
    assert np.all(a.biases(0) == 0)


def test_copy_is_independent():
    net = MLP([2, 3, 1], seed=0)
    c = net.copy()
    c.weights(0)[0, 0] += 1.0
    assert net.weights(0)[0, 0] != c.weights(0)[0, 0]
    assert not np.shares_memory(c.params, net.params)
    c.params[:] = net.params
    np.testing.assert_array_equal(c.predict(np.ones((2, 2))), net.predict(np.ones((2, 2))))


def test_save_load_round_trip_is_exact(tmp_path):
    net = MLP([5, 4, 3], hidden="tanh", output="softmax", loss="ce", seed=2)
    net.params[:] += np.random.default_rng(0).normal(size=net.num_params)
    net.save(tmp_path / "m.npz")
    back = MLP.load(tmp_path / "m.npz")
    assert (back.sizes, back.hidden, back.output, back.loss) == (net.sizes, "tanh", "softmax",
                                                                   "ce")
    np.testing.assert_array_equal(back.params, net.params)
    np.savez(tmp_path / "bad.npz", X=np.zeros(3))
    with pytest.raises(ValueError, match="missing keys"):
        MLP.load(tmp_path / "bad.npz")


def test_predict_gives_probabilities_for_softmax_and_sigmoid():
    X = np.random.default_rng(0).normal(size=(7, 4))
    p = MLP([4, 5, 3], output="softmax", loss="ce", seed=0).predict(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    s = MLP([4, 5, 2], output="sigmoid", loss="bce", seed=0).predict(X)
    assert ((s > 0) & (s < 1)).all()
    y = MLP([4, 1], seed=0)
    np.testing.assert_array_equal(y.predict(X), vectorized.forward(y, X)[-1][1])
