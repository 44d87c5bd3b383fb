"""Batches and training on the tape: the loop over rows runs inside one compiled call.

The lecture's batch loss is the sum of the examples' losses, so its gradient is the sum of
their gradients: the gradients of the differentiated inputs are simply not reset between
rows. A compiled SGD epoch (slide 18) takes a step ``θ ← θ − α ∇θ`` after every minibatch
of ``batch_size`` rows (1: per example), updating the parameters in place.

``B`` is a tuple of 2-D arrays, one per batched argument, whose row ``n`` is copied into the
argument's slots ``cols[j] ...`` before the row's forward walk.

The batch gradient can also run as ``prange`` over chunks of rows (:func:`grad_chunks`),
each chunk with its own value and gradient arrays, added after: no races, and the same sum
up to the order of the additions.
"""

from __future__ import annotations

import math

from numba import njit, prange

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from .tape import backward, forward

#: a batch gradient takes the chunks in parallel from this many row × operation visits (about
#: a millisecond of work: below, starting the threads costs more than they save)
PARALLEL_MIN_WORK = 200_000


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def load_row(v, B, cols, n):
    """Copy row ``n`` of every batched argument into its slots (indexed, not a view of the
    row: a view costs a reference count)."""
    for j in range(len(B)):
        Bj = B[j]
        o = cols[j]
        for m in range(Bj.shape[1]):
            v[o + m] = Bj[n, m]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def row_value(ins, cst, runs, first, v, out, B, cols, n):
    """The forward walk on row ``n``; returns the output's value."""
    load_row(v, B, cols, n)
    forward(ins, cst, runs, first, v)
    return v[out]


@njit(cache=True, nogil=True, error_model="numpy")
def batch_value(ins, cst, runs, first, v, out, B, cols, rows):
    """The sum over rows of the output; each row's value into ``rows``."""
    total = 0.0
    for n in range(B[0].shape[0]):
        rows[n] = row_value(ins, cst, runs, first, v, out, B, cols, n)
        total += rows[n]
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def grad_rows(ins, cst, runs, first, v, g, need, out, B, cols, wrt, lo, hi, rows, row_grads):
    """Rows ``lo ≤ n < hi``: each row's value into ``rows[n]`` and its gradient added to
    ``g[wrt]``; with ``row_grads`` non-empty, row n's gradient goes to ``row_grads[n]``
    instead (``g[wrt]`` starts from zero for every row). Returns the rows' sum."""
    each = row_grads.shape[0] > 0
    total = 0.0
    for n in range(lo, hi):
        rows[n] = row_value(ins, cst, runs, first, v, out, B, cols, n)
        total += rows[n]
        for s in range(first, g.shape[0]):
            g[s] = 0.0
        if each:
            for s in wrt:
                g[s] = 0.0
        g[out] += 1.0
        backward(ins, cst, runs, first, v, g, need)
        if each:
            for m in range(wrt.shape[0]):
                row_grads[n, m] = g[wrt[m]]
    return total


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def grad_chunks(ins, cst, runs, first, vs, gs, need, out, B, cols, wrt, rows, row_grads,
                totals):
    """:func:`grad_rows` over ``C = vs.shape[0]`` chunks of the rows with ``prange``: chunk c
    has its own values ``vs[c]`` and gradients ``gs[c]`` (no two threads write the same
    memory); the caller adds the chunks' ``gs[c, wrt]`` and ``totals[c]``."""
    C = vs.shape[0]
    N = B[0].shape[0]
    for c in prange(C):
        for s in wrt:
            gs[c, s] = 0.0
        totals[c] = grad_rows(ins, cst, runs, first, vs[c], gs[c], need, out, B, cols, wrt,
                              c * N // C, (c + 1) * N // C, rows, row_grads)


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_epoch(ins, cst, runs, first, v, g, need, out, B, cols, wrt, order, batch_size, lr,
              step_loss):
    """One epoch of gradient descent over the rows ``order``; the parameters are
    ``v[wrt]``. Returns -1, or the first step whose loss or gradient is not finite (that
    step is not applied, so ``v[wrt]`` holds the values from before it)."""
    n = order.shape[0]
    steps = (n + batch_size - 1) // batch_size
    for s in range(steps):
        for w in wrt:
            g[w] = 0.0
        total = 0.0
        for r in range(s * batch_size, min(n, (s + 1) * batch_size)):
            total += row_value(ins, cst, runs, first, v, out, B, cols, order[r])
            for t in range(first, g.shape[0]):
                g[t] = 0.0
            g[out] += 1.0
            backward(ins, cst, runs, first, v, g, need)
        step_loss[s] = total
        finite = math.isfinite(total)
        for w in wrt:
            finite = finite and math.isfinite(g[w])
        if not finite:
            return s
        for w in wrt:
            v[w] -= lr * g[w]
    return -1

