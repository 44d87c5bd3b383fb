"""Per-example SGD on the tape with the updates of the weights that multiply the data
delayed over a block of rows: :func:`fused.sgd_epoch_direct`'s steps (to rounding), with the
widest work as matrix products, as ``scalar_fast.sgd_epoch_blocked`` does for the MLP.

The runs read ahead (``look[r] >= 0``: a parameter row ``w`` times a stretch of the batched
row ``x``, an MLP's first layer) are the only users of their weights. Example ``i`` of a
block needs ``w⁽ⁱ⁾ · xᵢ`` with ``w⁽ⁱ⁾ = w − α Σ_{q<i} ȳ_q x_q`` (the block's earlier updates),
and the data are known ahead, so with the rows of one weight matrix ``W`` and the block ``X``::

    KT = X Wᵀ,  G = X Xᵀ                            (BLAS, W as at the block's start)
    example i:  w⁽ⁱ⁾ · xᵢ = KT[i] − α Σ_{q<i} G[i, q] ȳ_q     (the kernel, into ``ahead``)
    after:      W ← W − α ȳᵀ X                       (one dgemm into W, in place)

where ``ȳ_q`` (a row of ``GR``) are the runs' output gradients of example q. ``W`` is swept
three times per block instead of twice per example. The other parameters are updated in the
backward walk as in :mod:`fused`.

Measured on the traced 784-128-10 MLP (AVX-512, the block kernel's time per example):

- the block's earlier updates are applied over slices of ``tmp`` and ``GR`` (one per matrix
  and earlier row), because a loop over computed bounds does not vectorize (2.4 -> 0.6 µs);
- a batched argument that only the runs read ahead read (an MLP's ``x``) is not copied into
  ``v`` at all (0.86 µs: 784 numbers per example);
- ``KT`` is the matrix product itself and the dgemm takes ``GR`` transposed as it lies: no
  temporary, no copy.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.linalg.blas import dgemm

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ...memory import BLOCK, BLOCKED_MIN_WEIGHTS  # noqa: F401  (training reads the second here)
from . import ops
from .batch import load_row
from .fused import backward_update
from .segments import forward


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_block(ins, cst, runs, runs_ahead, first, v, g, need, out, B, cols, rows, lr,
              step_loss, s0, look, looks, bounds, KT, G, GR, ahead, delayed, tmp, seg, act):
    """The rows ``rows`` of one block, one SGD step each, with the weights of the runs
    ``looks`` (grouped into matrices: columns ``bounds[m]:bounds[m+1]`` of ``KT`` and ``GR``
    use Gram matrix ``G[m]``) left as they were at the block's start. Returns -1, or the
    epoch's index of the first step whose loss is not finite."""
    R = looks.shape[0]
    no_row = ahead[:0]
    for i in range(rows.shape[0]):
        load_row(v, B, cols, rows[i])
        for c in range(R):
            tmp[c] = KT[i, c]
        for m in range(bounds.shape[0] - 1):    # the block's earlier updates, applied to x
            t = tmp[bounds[m]:bounds[m + 1]]
            for q in range(i):
                a = lr * G[m, i, q]
                gr = GR[q, bounds[m]:bounds[m + 1]]
                for c in range(len(t)):
                    t[c] -= a * gr[c]
        for c in range(R):
            ahead[looks[c]] = tmp[c]
        forward(ins, cst, runs_ahead, first, v, seg)
        step_loss[s0 + i] = v[out]
        if not math.isfinite(v[out]):
            return s0 + i
        for t in range(first, g.shape[0]):
            g[t] = 0.0
        g[out] = 1.0
        backward_update(ins, cst, runs, act, first, v, g, need, lr, look, no_row, ahead,
                        delayed, seg)
        for c in range(R):
            GR[i, c] = delayed[looks[c]]
    return -1


def matrices(runs: np.ndarray, look: np.ndarray) -> list[np.ndarray]:
    """The runs read ahead grouped into weight matrices: runs of one length, side by side in
    ``v`` (each starts where the last ends) and reading the same columns of the row."""
    chosen = np.flatnonzero(look >= 0)
    chosen = chosen[np.argsort(runs[chosen, 0], kind="stable")]
    groups: list[list[int]] = []
    for r in chosen.tolist():
        if groups:
            last = groups[-1][-1]
            if look[r] == look[last] and runs[r, 2] == runs[last, 2] and \
                    runs[r, 0] == runs[last, 0] + runs[last, 2]:
                groups[-1].append(r)
                continue
        groups.append([r])
    return [np.array(group, dtype=np.int64) for group in groups]


def is_read(ins: np.ndarray, runs: np.ndarray, lo: int, hi: int) -> bool:
    """Does an instruction of the tape ``ins`` (DOTs: ``runs``) read a slot in
    ``[lo, hi)``?"""
    codes = ins[:, 0]
    operands = [ins[np.isin(codes, ops.UNARY), 1], ins[np.isin(codes, ops.BINARY), 1:3],
                ins[codes == ops.WHERE, 1:4]]
    if any(((a >= lo) & (a < hi)).any() for a in operands):
        return True
    ends = runs[:, :2] + runs[:, 2:3]
    return bool(((runs[:, :2] < hi) & (ends > lo)).any())


def weights_read_ahead(runs: np.ndarray, look: np.ndarray) -> int:
    return int(runs[look >= 0, 2].sum())


def sgd_epoch(ins: np.ndarray, cst: np.ndarray, runs: np.ndarray, runs_ahead: np.ndarray,
              first: int, v: np.ndarray, g: np.ndarray, need: np.ndarray, out: int,
              B: tuple[np.ndarray, ...], cols: np.ndarray, wrt: np.ndarray, order: np.ndarray,
              lr: float, step_loss: np.ndarray, look: np.ndarray, ahead_arg: int,
              ahead: np.ndarray, seg: np.ndarray, act: np.ndarray) -> int:
    """One epoch of per-example SGD, blocked (see the module docstring); the arguments as
    :func:`fused.sgd_epoch_direct`'s. Same contract: -1, the first step whose loss is not
    finite, or -2 if a parameter became non-finite; on failure the caller replays."""
    block = BLOCK
    groups = matrices(runs, look)
    looks = np.concatenate(groups)
    bounds = np.concatenate([[0], np.cumsum([len(gr) for gr in groups])]).astype(np.int64)
    spans = [(int(look[gr[0]]), int(runs[gr[0], 2])) for gr in groups]
    # each matrix as a view of v: W[j] is run gr[j]'s weight row
    Ws = [v[runs[gr[0], 0]:runs[gr[0], 0] + len(gr) * n].reshape(len(gr), n)
          for gr, (_, n) in zip(groups, spans)]
    X = B[ahead_arg]
    n_rows = order.shape[0]
    R = len(looks)
    delayed = np.zeros(len(runs))
    tmp = np.empty(R)
    in_order = bool(np.array_equal(order, np.arange(n_rows)))   # then blocks are views of X
    # rows that only the runs read ahead read (an MLP's x) are not copied into v at all
    copied = [j for j in range(len(B))
              if is_read(ins, runs_ahead, cols[j], cols[j] + B[j].shape[1])] or [0]
    B_copied, cols_copied = tuple(B[j] for j in copied), cols[copied]
    buffers: dict[int, tuple[np.ndarray, ...]] = {}
    for s0 in range(0, n_rows, block):
        rows = order[s0:s0 + block]
        m = rows.shape[0]
        if m not in buffers:                  # the full block, and a short last one
            buffers[m] = (np.empty((m, R)), np.empty((len(groups), m, m)), np.empty((m, R)))
        KT, G, GR = buffers[m]
        Xb = X[s0:s0 + m] if in_order else X[rows]
        for k, ((o, n), W) in enumerate(zip(spans, Ws)):
            Xg = Xb[:, o:o + n]
            if len(groups) == 1:                # no temporary: KT is the product
                np.matmul(Xg, W.T, out=KT)
            else:
                KT[:, bounds[k]:bounds[k + 1]] = Xg @ W.T
            np.matmul(Xg, Xg.T, out=G[k])
        status = sgd_block(ins, cst, runs, runs_ahead, first, v, g, need, out, B_copied,
                           cols_copied, rows, lr, step_loss, s0, look, looks, bounds, KT, G,
                           GR, ahead, delayed, tmp, seg, act)
        if status >= 0:
            return int(status)
        for k, ((o, n), W) in enumerate(zip(spans, Ws)):
            # W ← W − α GRᵀ X as BLAS (column-major) sees it: Wᵀ ← Wᵀ − α Xᵀ GR, GR passed
            # transposed (column-major as it is, not copied)
            new = dgemm(-lr, Xb[:, o:o + n].T, GR[:, bounds[k]:bounds[k + 1]].T, 1.0, W.T,
                        trans_b=1, overwrite_c=1)
            if not np.shares_memory(new, W):
                W[...] = new.T
    return -1 if np.isfinite(v[wrt]).all() else -2
