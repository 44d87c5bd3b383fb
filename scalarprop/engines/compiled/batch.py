"""Batches and training on the tape: the loop over rows runs inside one compiled call.

The lecture's batch loss is the sum of the examples' losses, so its gradient is the sum of
their gradients: the gradients of the differentiated inputs are simply not reset between
rows. A compiled SGD epoch (slide 18) takes a step ``θ ← θ − α ∇θ`` after every minibatch
of ``batch_size`` rows (1: per example), updating the parameters in place.

``B`` is a tuple of 2-D arrays, one per batched argument, whose row ``n`` is copied into the
argument's slots ``cols[j] ...`` before the row's forward walk.
"""

from __future__ import annotations

import math

from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from .tape import backward, forward


@njit(cache=True, nogil=True, error_model="numpy")
def load_row(v, B, cols, n):
    """Copy row ``n`` of every batched argument into its slots."""
    for j in range(len(B)):
        row = B[j][n]
        o = cols[j]
        for m in range(row.shape[0]):
            v[o + m] = row[m]


@njit(cache=True, nogil=True, error_model="numpy")
def batch_value(ins, cst, runs, first, v, out, B, cols, rows):
    """The sum over rows of the output; each row's value into ``rows``."""
    total = 0.0
    for n in range(B[0].shape[0]):
        load_row(v, B, cols, n)
        forward(ins, cst, runs, first, v)
        rows[n] = v[out]
        total += v[out]
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def batch_grad(ins, cst, runs, first, v, g, need, out, B, cols, wrt, rows):
    """The sum over rows of the output and, in ``g[wrt]``, of its gradient."""
    for s in wrt:
        g[s] = 0.0
    total = 0.0
    for n in range(B[0].shape[0]):
        load_row(v, B, cols, n)
        forward(ins, cst, runs, first, v)
        rows[n] = v[out]
        total += v[out]
        for s in range(first, g.shape[0]):
            g[s] = 0.0
        g[out] += 1.0
        backward(ins, cst, runs, first, v, g, need)
    return total


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
            load_row(v, B, cols, order[r])
            forward(ins, cst, runs, first, v)
            total += v[out]
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

