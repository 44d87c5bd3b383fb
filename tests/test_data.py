"""The built-in data sets and the user's own files."""

import numpy as np
import pytest

from scalarprop import MLP, load_arrays, load_digits, load_synth


def test_synth_is_the_course_quadratic_form():
    (X, T), (Xv, Tv), K = load_synth(num_train=1000, num_val=200, seed=3)
    assert X.shape == (1000, 2) and Xv.shape == (200, 2) and K == 2
    assert X.dtype == np.float64 and T.dtype.kind == "i"
    Q = np.array([[1, -0.05], [1, 0.4]])
    for x, t in zip(np.vstack([X, Xv]), np.concatenate([T, Tv])):
        assert t == int(x @ Q @ x > 0.6)
    assert 0.3 < T.mean() < 0.7                        # both classes present
    (X2, _), _, _ = load_synth(num_train=1000, num_val=200, seed=3)
    np.testing.assert_array_equal(X, X2)               # seeded


def test_digits_are_the_real_uci_digits():
    (X, T), (Xv, Tv), K = load_digits()
    assert K == 10 and len(X) + len(Xv) == 1797
    assert X.shape[1] == 64 and X.dtype == np.float64
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    assert 0.18 < len(Xv) / 1797 < 0.22
    # stratified: every class in the same proportion in both parts
    np.testing.assert_allclose(np.bincount(Tv) / len(Tv), np.bincount(T) / len(T), atol=0.01)
    # the file's first image is a 0 whose top row is 0,0,5,13,9,1,0,0 (sklearn's images[0])
    first = np.array([0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0])
    rows = np.flatnonzero((np.vstack([X, Xv])[:, :16] == first).all(axis=1))
    assert len(rows) >= 1 and np.concatenate([T, Tv])[rows[0]] == 0
    (X2, T2), _, _ = load_digits()
    np.testing.assert_array_equal(X, X2)


def test_npz_and_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(50, 3)), rng.integers(0, 3, size=50)
    np.savez(tmp_path / "d.npz", X=X, T=T)
    (a, b), (c, d), K = load_arrays(tmp_path / "d.npz")
    assert K == 3 and len(a) + len(c) == 50 and a.shape[1] == 3
    np.savetxt(tmp_path / "d.csv", np.column_stack([X, T]), delimiter=",",
               header="a,b,c,label", comments="")
    (a2, b2), (c2, d2), K2 = load_arrays(tmp_path / "d.csv")
    np.testing.assert_allclose(a2, a)
    np.testing.assert_array_equal(b2, b)
    (ra, rb), _, Kr = load_arrays(_write(tmp_path / "r.npz", X=X, T=rng.normal(size=50)))
    assert Kr is None and rb.dtype == np.float64


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("arrays,match", [
    (dict(X=np.zeros((5, 2))), r"missing key\(s\) \['T'\]"),
    (dict(X=np.zeros(5), T=np.zeros(5)), "X must have shape"),
    (dict(X=np.zeros((5, 2)), T=np.zeros(4)), "T must have shape"),
    (dict(X=np.array([[1.0, np.nan]] * 5), T=np.zeros(5)), "X contains NaN"),
    (dict(X=np.zeros((5, 2)), T=np.array([0, 1, np.inf, 0, 1])), "T contains NaN"),
])
def test_bad_files_are_refused(tmp_path, arrays, match):
    with pytest.raises(ValueError, match=match):
        load_arrays(_write(tmp_path / "bad.npz", **arrays))


def test_unknown_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_arrays(tmp_path / "nope.npz")
    (tmp_path / "x.txt").write_text("1,2\n")
    with pytest.raises(ValueError, match="unknown file type"):
        load_arrays(tmp_path / "x.txt")


def test_save_load_round_trip_is_exact_after_training(tmp_path):
    from scalarprop import train

    (X, T), _, K = load_synth(num_train=200, num_val=10)
    net = MLP([2, 5, K], "tanh", "softmax", "ce", seed=1)
    train(net, X, T, epochs=2, lr=0.05)
    net.save(tmp_path / "m.npz")
    back = MLP.load(tmp_path / "m.npz")
    assert back.params.tobytes() == net.params.tobytes()
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:   # no pickle needed
        assert set(f.files) >= {"params", "sizes"}
