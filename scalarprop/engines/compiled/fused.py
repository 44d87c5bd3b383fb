"""Per-example SGD on the tape, made fast: :func:`batch.sgd_epoch` arranged for the memory
system, as :mod:`scalarprop.engines.scalar_fast` arranges the scalar engine's loops.

When every parameter is used once, as one side of a DOT (an MLP's weights and biases; see
``CompiledFunction.direct_update``), its old value is needed by nobody once its gradient is
known. So:

- the update is folded into the backward walk, ``w −= lr · ȳ · x`` where the gradient is
  found: no gradient buffer for the parameters, no separate sweep to apply it;
- a run whose other side is a batched input (a first-layer weight row times ``x``) is updated
  and, in the same sweep, multiplied with the NEXT example's ``x``: that example's forward
  finds the run's product computed (``ahead``, in a scratch slot of ``v`` that the plain
  forward walk reads as a run of one), and ``W`` is read and written once per example instead
  of read twice and written once.

The results equal :func:`batch.sgd_epoch` with ``batch_size=1`` up to the order of the
floating-point additions (tested).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ...memory import aligned_empty
from .batch import load_row
from .ops import DOT, WHERE
from .segments import forward, pullback_segment
from .tape import SHORT, pullback, run_axpy


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def run_axpy_dot(v, p, alpha, q, n, x_next, o):
    """v[p+m] += alpha · v[q+m], then Σₘ v[p+m] · x_next[o+m] with the new values."""
    s = 0.0
    if n < SHORT:
        for m in range(n):
            v[p + m] += alpha * v[q + m]
            s += v[p + m] * x_next[o + m]
        return s
    a = v[p:p + n]
    b = v[q:q + n]
    c = x_next[o:o + n]
    for m in range(len(a)):
        a[m] += alpha * b[m]
        s += a[m] * c[m]
    return s


#: what the update walk does with a run ``(p, q, n)`` of a DOT (bits of :func:`actions`)
TO_Q, TO_P, UPDATE_P, UPDATE_Q, READ_AHEAD = 1, 2, 4, 8, 16


def actions(runs: np.ndarray, first: int, need: np.ndarray, look: np.ndarray) -> np.ndarray:
    """Per run, what :func:`update_range` does with it, worked out once per epoch: ``q̄ +=
    ȳ·p`` where q is computed (TO_Q), ``p̄ += ȳ·q`` (TO_P), ``p −= lr·ȳ·q`` where p is a
    parameter (UPDATE_P), the same for q (UPDATE_Q), and READ_AHEAD where the run is a
    parameter row times the batched row (``look[r] >= 0``)."""
    p, q = runs[:, 0], runs[:, 1]
    act = np.where(q >= first, TO_Q, 0) | np.where(p >= first, TO_P, 0)
    act |= np.where(need[p] & (p < first), UPDATE_P, 0)
    act |= np.where(need[q] & (q < first), UPDATE_Q, 0)
    act |= np.where(look >= 0, READ_AHEAD, 0)
    return act.astype(np.int64)


@njit(cache=True, nogil=True, error_model="numpy")
def backward_update(ins, cst, runs, act, first, v, g, need, lr, look, x_next, ahead, delayed,
                    seg):
    """:func:`tape.backward` with each parameter updated where its gradient is found (each is
    used in one run only, so its old value has served the other side already), a segment
    of :mod:`segments` at a time. A run read ahead (``act[r]`` has READ_AHEAD) has the
    batched row on its other side: with ``delayed`` non-empty, its update waits
    (``delayed[r] = ȳ``, see :mod:`blocked`); else it is updated and multiplied with the
    next row ``x_next`` in the same sweep, into ``ahead[r]``."""
    for s in range(seg.shape[0] - 1, -1, -1):
        k0, k1, op = seg[s, 0], seg[s, 1], seg[s, 2]
        if op == DOT:
            update_layer(ins, cst, runs, act, first, v, g, need, lr, look, x_next, ahead,
                         delayed, k0, k1)
        elif op >= 0:
            pullback_segment(ins, cst, first, v, g, k0, k1, op)
        else:
            update_range(ins, cst, runs, act, first, v, g, need, lr, look, x_next, ahead,
                         delayed, k0, k1)


@njit(cache=True, nogil=True, error_model="numpy")
def update_range(ins, cst, runs, act, first, v, g, need, lr, look, x_next, ahead, delayed,
                 k0, k1):
    """:func:`backward_update` of the instructions ``k1 > k ≥ k0``, one at a time. What to do
    with a run is read from ``act`` (one number, not tests of ``need`` at both ends), and a run
    of one pair (a bias) is two statements, not loops: the 128 first-layer units of
    784-128-10 went from 1.05 to 0.85 to 0.72 µs per example. (The runs are walked here, not
    in a function per run: a call that takes arrays costs a reference count per array, more
    than a short run.)"""
    for k in range(k1 - 1, k0 - 1, -1):
        i = first + k
        op = ins[k, 0]
        if need[i] and op == DOT:
            gi = g[i]
            for r in range(ins[k, 1], ins[k, 1] + ins[k, 2]):
                a = act[r]
                if (a & READ_AHEAD) != 0 and delayed.shape[0] > 0:
                    delayed[r] = gi
                    continue
                p, q, n = runs[r, 0], runs[r, 1], runs[r, 2]
                if n == 1:                  # a bias: no loop to set up
                    if a & TO_Q:
                        g[q] += gi * v[p]
                    if a & TO_P:
                        g[p] += gi * v[q]
                    if a & UPDATE_P:
                        v[p] -= lr * gi * v[q]
                    if a & UPDATE_Q:
                        v[q] -= lr * gi * v[p]
                    continue
                if n < SHORT:
                    if a & TO_Q:
                        for m in range(n):
                            g[q + m] += gi * v[p + m]
                    if a & TO_P:
                        for m in range(n):
                            g[p + m] += gi * v[q + m]
                    if a & UPDATE_P:
                        for m in range(n):
                            v[p + m] -= lr * gi * v[q + m]
                    if a & UPDATE_Q:
                        for m in range(n):
                            v[q + m] -= lr * gi * v[p + m]
                    continue
                if a & TO_Q:
                    run_axpy(g, q, gi, v, p, n)
                if a & TO_P:
                    run_axpy(g, p, gi, v, q, n)
                if (a & READ_AHEAD) != 0 and x_next.shape[0] > 0:
                    ahead[r] = run_axpy_dot(v, p, -lr * gi, q, n, x_next, look[r])
                elif a & UPDATE_P:
                    run_axpy(v, p, -lr * gi, v, q, n)
                if a & UPDATE_Q:
                    run_axpy(v, q, -lr * gi, v, p, n)
        elif need[i] and op == WHERE:
            g[ins[k, 2] if v[ins[k, 1]] != 0.0 else ins[k, 3]] += g[i]
        elif need[i]:
            a, b = ins[k, 1], ins[k, 2]
            ga, gb = pullback(op, v[a], v[b], v[i], g[i], cst[k])
            g[a] += ga
            g[b] += gb


@njit(cache=True, nogil=True, error_model="numpy")
def update_layer(ins, cst, runs, act, first, v, g, need, lr, look, x_next, ahead, delayed,
                 k0, k1):
    """:func:`update_range` of a layer of DOTs (a DOT segment of :mod:`segments`: the same
    runs, unit after unit). Where each position of the runs is a delayed update or a bias
    (a first layer in the blocked epoch), it is one short loop over the units, what to do
    decided once per position, not once per unit (784-128-10, the 128 first-layer units:
    0.78 -> 0.41 µs per example); any other layer is left to :func:`update_range`."""
    R, r0, i0 = ins[k0, 2], ins[k0, 1], first + k0
    for t in range(R):
        a = act[r0 + t]
        if not ((a & READ_AHEAD) != 0 and delayed.shape[0] > 0) and \
                not (a == UPDATE_P and runs[r0 + t, 2] == 1):
            update_range(ins, cst, runs, act, first, v, g, need, lr, look, x_next, ahead,
                         delayed, k0, k1)
            return
    for t in range(R):
        if act[r0 + t] & READ_AHEAD:
            for j in range(k1 - k0 - 1, -1, -1):
                delayed[r0 + j * R + t] = g[i0 + j]
        else:                                   # a bias
            for j in range(k1 - k0 - 1, -1, -1):
                r = r0 + j * R + t
                v[runs[r, 0]] -= lr * g[i0 + j] * v[runs[r, 1]]


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_epoch_direct(ins, cst, runs, runs_ahead, first, v, g, need, out, B, cols, wrt, order,
                     lr, step_loss, look, ahead_arg, ahead, seg, act):
    """One epoch of per-example SGD, fused. ``runs_ahead``: the runs, where a run read
    ahead is the product found in ``ahead`` (a view of ``v``'s scratch slots; see
    :func:`scratch`). Returns -1, the first step whose loss is not finite, or -2 if a
    parameter became non-finite. The update of a step is applied before its gradient could
    be checked, so on any failure the caller replays the epoch with :func:`batch.sgd_epoch`,
    which stops before the step whose loss or gradient fails."""
    n = order.shape[0]
    no_delay = ahead[:0]
    for s in range(n):
        load_row(v, B, cols, order[s])
        # the first example has no products read ahead yet
        forward(ins, cst, runs if s == 0 else runs_ahead, first, v, seg)
        step_loss[s] = v[out]
        if not math.isfinite(v[out]):
            return s
        for t in range(first, g.shape[0]):
            g[t] = 0.0
        g[out] = 1.0
        # the row read ahead: one view per example, not one per run
        x_next = B[ahead_arg][order[s + 1]] if s + 1 < n else B[ahead_arg][0][:0]
        backward_update(ins, cst, runs, act, first, v, g, need, lr, look, x_next, ahead,
                        no_delay, seg)
    for w in wrt:
        if not math.isfinite(v[w]):
            return -2
    return -1


def scratch(v: np.ndarray, runs: np.ndarray, look: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``v`` with scratch slots after it: one per run (``ahead``, a view of them) and a 1.
    ``runs_ahead``: the runs where each run read ahead (``look[r] >= 0``) is replaced by
    ``ahead[r] · 1``, so the plain forward walk takes the product computed ahead."""
    end = v.shape[0]
    extended = aligned_empty(end + len(runs) + 1)   # v's rows of W stay on cache lines
    extended[:end] = v
    extended[end:] = 0.0
    extended[-1] = 1.0
    runs_ahead = runs.copy()
    chosen = np.flatnonzero(look >= 0)
    runs_ahead[chosen, 0] = end + chosen
    runs_ahead[chosen, 1] = end + len(runs)
    runs_ahead[chosen, 2] = 1
    return extended, runs_ahead, extended[end:end + len(runs)]
