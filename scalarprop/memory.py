"""Aligned buffers: float64 arrays whose data starts on a 64-byte cache line.

The kernels stream rows of ``W`` and ``X``; a row that starts on a cache line is read in
whole lines, and Numba's vectorised loops can use aligned loads.
"""

from __future__ import annotations

import numpy as np

#: per-example SGD delays the updates of a weight matrix that multiplies the data over
#: blocks of examples (the scalar engine's and the compiled functions' blocked epochs) where
#: it has at least this many weights (measured on 784-50-10 and 784-128-10: above, the matrix
#: outgrows the L1 and L2 caches, and the fused epoch's two sweeps of it per example are
#: bound by their bandwidth; below, the fused epoch wins)
BLOCKED_MIN_WEIGHTS = 2 ** 15
#: examples per block: the Gram matrix X Xᵀ costs 2 · BLOCK · n flops per row of n numbers
BLOCK = 64


def aligned_empty(n: int, align: int = 64) -> np.ndarray:
    """An uninitialised float64 array of length n whose data starts on an ``align``-byte
    boundary (a cache line: the kernels stream rows of W and X)."""
    raw = np.empty(n + align // 8, dtype=np.float64)
    offset = (-raw.ctypes.data % align) // 8
    return raw[offset:offset + n]


def aligned_copy(X: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of a 2-D float64 array whose data starts on a 64-byte boundary."""
    out = aligned_empty(X.size).reshape(X.shape)
    out[...] = X
    return out



def aligned(X: np.ndarray) -> np.ndarray:
    """``X`` itself when it is C-contiguous and starts on a 64-byte boundary, else
    :func:`aligned_copy`."""
    if X.flags.c_contiguous and X.ctypes.data % 64 == 0:
        return X
    return aligned_copy(X)
