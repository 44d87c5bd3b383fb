"""Data sets, with nothing to download at run time.

Every loader returns ``(X_train, T_train), (X_val, T_val), num_classes`` as the course's
loaders do: float64 ``X`` of shape ``(n, features)`` and integer class labels ``T`` (or float
regression targets, for a file that holds them).
"""

from __future__ import annotations

import os
import warnings
from importlib import resources
from typing import Any

import numpy as np

from .files import NpzReader
from .validate import check_fits

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


#: integer targets of a classification; "values" reads them as regression targets
TARGET_KINDS = ("auto", "classes", "values")


def load_arrays(path: str | os.PathLike, val_fraction: float = 0.2, seed: int = 0,
                targets: str = "auto") -> Split:
    """Your own data: an ``.npz`` with keys ``X`` (n, features) and ``T`` (n,) or (n, k), or a
    ``.csv`` (optional header line) whose last column is the target.

    ``targets="auto"``: integer-valued 1-D targets are class labels and the split is
    stratified; anything else is a regression target (``num_classes`` = None).
    ``"classes"`` insists on class labels, ``"values"`` reads every target as a number.
    Class labels ``0..K-1`` are kept (``num_classes`` = largest label + 1). Labels that
    include negative numbers (``{-1, 1}``, ``{-1, 0}``) are renumbered in sorted order: the
    smallest becomes class 0. A label far beyond the number of distinct labels (one ``10**6``
    among ``{0, 1, 2}``) is refused: it would size the output layer by itself.
    """
    if targets not in TARGET_KINDS:
        raise ValueError(f"targets={targets!r}: expected one of {list(TARGET_KINDS)}")
    path = os.fspath(path)
    if path.endswith(".npz"):
        X, T = _read_npz(path)
    elif path.endswith(".csv"):
        X, T = _read_csv(path)
    elif os.path.isdir(path):
        raise ValueError(f"{path}: is a directory; expected a .npz or .csv file")
    elif not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    else:
        raise ValueError(f"{path}: unknown file type; expected .npz or .csv")
    if X.ndim != 2:
        raise ValueError(f"{path}: X must have shape (n, features), got {X.shape}")
    if T.ndim not in (1, 2) or T.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: T must have shape ({X.shape[0]},) or ({X.shape[0]}, k) to "
                         f"match X {X.shape}, got {T.shape}")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"{path}: need at least 2 examples of at least 1 feature, got X of "
                         f"shape {X.shape}")
    X = X.astype(np.float64)
    for name, a in (("X", X), ("T", T)):
        bad = ~np.isfinite(a.astype(np.float64))
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{path}: {name} contains NaN or inf (first at {list(where)})")
    integers = T.ndim == 1 and bool(np.all(T == np.round(T)))
    if targets == "classes" and not integers:
        raise ValueError(f"{path}: targets='classes' needs a 1-D T of integer labels")
    if integers and targets != "values":
        T, num_classes = class_labels(T, path)
        tr, va = stratified_split(T, val_fraction, seed)
        return (X[tr], T[tr]), (X[va], T[va]), num_classes
    T = T.astype(np.float64)
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    k = int(round(val_fraction * X.shape[0]))
    va, tr = np.sort(perm[:k]), np.sort(perm[k:])
    return (X[tr], T[tr]), (X[va], T[va]), None


def class_labels(T: np.ndarray, source: str = "T") -> tuple[np.ndarray, int]:
    """Integer-valued labels as class indices and the number of classes (see
    :func:`load_arrays`): ``0..K-1`` kept, labels with negatives renumbered in sorted order,
    a label far beyond the number of distinct labels refused."""
    labels = np.unique(T)
    if labels[0] < 0:
        return np.searchsorted(labels, T).astype(np.int64), len(labels)
    top = int(labels[-1])
    if top >= 2 * len(labels) + 8:
        shown = ", ".join(str(int(v)) for v in labels[:6]) + (", ..." if len(labels) > 6
                                                               else "")
        raise ValueError(
            f"{source}: class label {top} is far beyond the {len(labels)} distinct labels "
            f"({shown}); class labels are indices 0..K-1 and {top} would ask for {top + 1} "
            "output units. Renumber the classes, or, for a regression target, use a "
            "regression loss (--loss squared; load_arrays(..., targets='values'))")
    return T.astype(np.int64), top + 1


def _read_npz(path: str) -> tuple[np.ndarray, np.ndarray]:
    with NpzReader(path, "data file") as f:
        missing = {"X", "T"} - set(f.members)
        if missing:
            raise f.error(f"missing key(s) {sorted(missing)}; expected 'X' and 'T' (found "
                          f"{sorted(f.members)})")
        for key in ("X", "T"):
            m = f.members[key]
            if m.dtype.kind not in "biuf":
                raise f.error(f"{key} must be numeric, got {m.dtype}")
        return f.read("X"), f.read("T")


def _read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory; expected a .csv file")
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    if not os.path.isfile(path):
        # a device or a pipe (/dev/zero) has no end: reading it would never finish
        raise ValueError(f"{path}: not a regular file; expected a .csv file")
    check_fits(8 * os.path.getsize(path), f"{path}: reading it")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # an empty file is told below, not warned
            table = np.genfromtxt(path, delimiter=",", dtype=np.float64)
    except (ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: cannot read as CSV ({reason})") from None
    if table.ndim == 2 and len(table) and np.isnan(table[0]).all():
        table = table[1:]                      # a header line
    if table.ndim != 2 or table.shape[1] < 2:
        raise ValueError(f"{path}: expected rows of features followed by a target "
                         f"column, got shape {table.shape}")
    return table[:, :-1], table[:, -1]
