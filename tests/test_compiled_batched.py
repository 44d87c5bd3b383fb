"""Batched calls of compiled functions: per-row values and gradients against ``cf.grad`` row
by row, and the parallel chunks (``prange``) against the serial loop."""

import numba
import numpy as np
import pytest

import scalarprop.compiled as spc
from scalarprop import MLP
from scalarprop.engines.compiled import batch
from scalarprop.engines.compiled.mlp import mlp_loss


def scaled_loss(w, c, x):
    """Two differentiated arguments (w and a scale c) and one batched (x)."""
    k = spc.dot(w[0:3], x[0:3]).tanh() * c[0]
    return (k - x[3]) ** 2 + c[1] * w[0]


@pytest.fixture(scope="module")
def case():
    cf = spc.compile(scaled_loss, 3, 2, 4)
    rng = np.random.default_rng(7)
    return cf, rng.normal(size=3), np.array([1.5, 0.2]), rng.normal(size=(11, 4))


def test_per_row_values_and_gradients_are_the_rows_one_call_each(case):
    cf, w, c, X = case
    total, (gw, gc), rows, (rw, rc) = cf.grad(w, c, X, wrt=(0, 1), batched=(2,),
                                              per_row_grads=True)
    assert rw.shape == (11, 3) and rc.shape == (11, 2)
    for n, x in enumerate(X):
        value, (one_w, one_c) = cf.grad(w, c, x, wrt=(0, 1))
        assert rows[n] == pytest.approx(value, rel=1e-14)
        np.testing.assert_allclose(rw[n], one_w, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(rc[n], one_c, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gw, rw.sum(axis=0), rtol=1e-13)
    assert total == pytest.approx(rows.sum(), rel=1e-14)
    # the existing forms still answer as before
    assert len(cf.grad(w, c, X, batched=(2,))) == 2
    assert cf.grad(w, c, X, batched=(2,), per_row=True)[2] == pytest.approx(rows)


@pytest.mark.parametrize("per_row_grads", [False, True])
def test_parallel_chunks_equal_the_serial_loop(per_row_grads):
    sizes = (6, 5, 2)
    net = MLP(sizes, hidden="sigmoid", output="softmax", loss="ce", seed=3)
    cf = spc.compile(mlp_loss(sizes, "sigmoid", "softmax", "ce"), net.num_params, 6, 2)
    rng = np.random.default_rng(8)
    X, T = rng.normal(size=(37, 6)), np.eye(2)[rng.integers(0, 2, 37)]
    serial = cf.grad(net.params, X, T, batched=(1, 2), per_row_grads=per_row_grads,
                     parallel=False)
    chunked = cf.grad(net.params, X, T, batched=(1, 2), per_row_grads=per_row_grads,
                      parallel=True)
    assert chunked[0] == pytest.approx(serial[0], rel=1e-12)
    for a, b in zip(serial[1:], chunked[1:]):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    # and the engines' own batch gradient
    from scalarprop.engines import scalar
    ref_loss, ref_grad = scalar.loss_and_grad(net, X, np.argmax(T, axis=1).reshape(-1, 1))
    assert chunked[0] == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(chunked[1], ref_grad, rtol=1e-11, atol=1e-13)


def test_a_large_batch_takes_the_chunks_by_default(case, monkeypatch):
    cf, w, c, X = case
    calls = []
    original = batch.grad_chunks
    monkeypatch.setattr(batch, "grad_chunks", lambda *a: calls.append(1) or original(*a))
    cf.grad(w, c, X, batched=(2,))
    assert calls == []                     # 11 rows of 6 operations: not worth the threads
    monkeypatch.setattr(batch, "PARALLEL_MIN_WORK", 0)
    total, _ = cf.grad(w, c, X, batched=(2,))
    assert calls == ([1] if numba.get_num_threads() > 1 else [])
    assert total == pytest.approx(cf.grad(w, c, X, batched=(2,), parallel=False)[0],
                                  rel=1e-13)


def test_batched_options_are_checked(case):
    cf, w, c, X = case
    with pytest.raises(ValueError, match="batched="):
        cf.grad(w, c, X[0], per_row_grads=True)
    with pytest.raises(ValueError, match="parallel='yes'"):
        cf.grad(w, c, X, batched=(2,), parallel="yes")
    with pytest.raises(ValueError, match="per_row_grads=1"):
        cf.grad(w, c, X, batched=(2,), per_row_grads=1)
    with pytest.raises(ValueError, match="batched=.*out of range"):
        cf.grad(w, c, X, batched=(3,))
    bad = X.copy()
    bad[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"not finite.*\[4, 2\]"):
        cf.grad(w, c, bad, batched=(2,), parallel=True)
