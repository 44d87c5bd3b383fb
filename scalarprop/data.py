"""Data sets, with nothing to download at run time.

Every loader returns ``(X_train, T_train), (X_val, T_val), num_classes`` as the course's
loaders do: float64 ``X`` of shape ``(n, features)`` and integer class labels ``T``.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

import numpy as np

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], Any]

#: the course's quadratic form for the synthetic data
SYNTH_Q = np.array([[1.0, -0.05], [1.0, 0.4]])
SYNTH_THRESHOLD = 0.6


def load_synth(num_train: int = 60_000, num_val: int = 10_000, seed: int = 0) -> Split:
    """The course's synthetic two-class data: 2-D standard normal points ``x``, labelled 1
    where ``xᵀ Q x > 0.6`` with ``Q = [[1, −0.05], [1, 0.4]]`` (about half of each)."""
    for name, v in (("num_train", num_train), ("num_val", num_val)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name}={v!r}: expected a non-negative integer")
    if num_train == 0:
        raise ValueError("num_train=0: need at least one training example")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_train + num_val, 2))
    q = np.einsum("bf,fk,bk->b", x, SYNTH_Q, x)
    t = (q > SYNTH_THRESHOLD).astype(np.int64)
    return (x[:num_train], t[:num_train]), (x[num_train:], t[num_train:]), 2


def stratified_split(T: np.ndarray, val_fraction: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)``: each class shuffled (seeded) and ``val_fraction`` of it held
    out, so both parts keep the class proportions."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(T):
        idx = rng.permutation(np.flatnonzero(T == c))
        k = int(round(val_fraction * len(idx)))
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def load_digits(val_fraction: float = 0.2, seed: int = 0) -> Split:
    """The real 8×8 handwritten digits (UCI; the CSV scikit-learn ships, see
    ``scalarprop/data/README.md``): 1797 images, 64 pixel values in 0–16, 10 classes.

    Split about 80/20 by a fixed, seeded, stratified shuffle: the file groups writers, so its
    last rows would not be a fair validation set.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction={val_fraction!r}: expected a fraction in (0, 1)")
    with resources.as_file(resources.files("scalarprop") / "data" / "digits.csv.gz") as path:
        table = np.loadtxt(path, delimiter=",")
    X, T = table[:, :-1].astype(np.float64), table[:, -1].astype(np.int64)
    tr, va = stratified_split(T, val_fraction, seed)
    return (X[tr], T[tr]), (X[va], T[va]), 10


def load_arrays(path: str | os.PathLike, val_fraction: float = 0.2, seed: int = 0) -> Split:
    """Your own data: an ``.npz`` with keys ``X`` (n, features) and ``T`` (n,) or (n, k), or a
    ``.csv`` (optional header line) whose last column is the target.

    Integer-valued 1-D targets are class labels (``num_classes`` = largest label + 1) and the
    split is stratified; anything else is a regression target (``num_classes`` = None).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = {"X", "T"} - set(f.files)
                if missing:
                    raise ValueError(f"{path}: missing key(s) {sorted(missing)}; expected 'X' "
                                     f"and 'T' (found {sorted(f.files)})")
                X, T = np.asarray(f["X"]), np.asarray(f["T"])
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: cannot read as .npz ({exc})") from None
    elif path.endswith(".csv"):
        try:
            table = np.genfromtxt(path, delimiter=",", dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{path}: cannot read as CSV ({exc})") from None
        if table.ndim == 2 and np.isnan(table[0]).all():
            table = table[1:]                      # a header line
        if table.ndim != 2 or table.shape[1] < 2:
            raise ValueError(f"{path}: expected rows of features followed by a target "
                             f"column, got shape {table.shape}")
        X, T = table[:, :-1], table[:, -1]
    else:
        raise ValueError(f"{path}: unknown file type; expected .npz or .csv")
    if X.dtype.kind not in "biuf" or T.dtype.kind not in "biuf":
        raise ValueError(f"{path}: X and T must be numeric, got {X.dtype} and {T.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{path}: X must have shape (n, features), got {X.shape}")
    if T.ndim not in (1, 2) or T.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: T must have shape ({X.shape[0]},) or ({X.shape[0]}, k) to "
                         f"match X {X.shape}, got {T.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"{path}: need at least 2 examples, got {X.shape[0]}")
    X = X.astype(np.float64)
    for name, a in (("X", X), ("T", T)):
        bad = ~np.isfinite(a.astype(np.float64))
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{path}: {name} contains NaN or inf (first at {list(where)})")
    rng = np.random.default_rng(seed)
    classes = T.ndim == 1 and np.all(T == np.round(T)) and T.min() >= 0
    if classes:
        T = T.astype(np.int64)
        tr, va = stratified_split(T, val_fraction, seed)
        num_classes: Any = int(T.max()) + 1
    else:
        T = T.astype(np.float64)
        perm = rng.permutation(X.shape[0])
        k = int(round(val_fraction * X.shape[0]))
        va, tr = np.sort(perm[:k]), np.sort(perm[k:])
        num_classes = None
    return (X[tr], T[tr]), (X[va], T[va]), num_classes
