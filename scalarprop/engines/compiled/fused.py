"""Per-example SGD on the tape, made fast: :func:`batch.sgd_epoch` arranged for the memory
system, as :mod:`scalarprop.engines.scalar_fast` arranges the scalar engine's loops.

When every parameter is used once, as one side of a DOT (an MLP's weights and biases; see
``CompiledFunction.direct_update``), its old value is needed by nobody once its gradient is
known. So:

- the update is folded into the backward walk, ``w −= lr · ȳ · x`` where the gradient is
  found: no gradient buffer for the parameters, no separate sweep to apply it;
- a run whose other side is a batched input (a first-layer weight row times ``x``) is updated
  and, in the same sweep, multiplied with the NEXT example's ``x``: that example's forward
  finds the run's product computed (``ahead``), and ``W`` is read and written once per example
  instead of read twice and written once.

The results equal :func:`batch.sgd_epoch` with ``batch_size=1`` up to the order of the
floating-point additions (tested).
"""

from __future__ import annotations

import math

from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from .batch import load_row
from .ops import ADD, DIV, DOT, GE, GT, MUL, SUB, WHERE
from .tape import SHORT, run_axpy, run_dot, unary_grad, value


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


@njit(cache=True, nogil=True, error_model="numpy")
def forward_ahead(ins, cst, runs, first, v, ahead, done):
    """:func:`tape.forward`, where a run marked ``done`` takes its product from ``ahead``.
    (The operations are written out again, not called: a call per operation costs more than
    the operation, 0.27 → 0.8 µs per example on a 2-3-1 network.)"""
    for k in range(ins.shape[0]):
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        i = first + k
        if op == DOT:
            s = 0.0
            for r in range(a, a + b):
                p, q, n = runs[r, 0], runs[r, 1], runs[r, 2]
                if done[r]:
                    s += ahead[r]
                elif n < SHORT:
                    for m in range(n):
                        s += v[p + m] * v[q + m]
                else:
                    s += run_dot(v, p, q, n)
            v[i] = s
        else:
            v[i] = value(op, v, a, b, ins[k, 3], cst[k])


@njit(cache=True, nogil=True, error_model="numpy")
def backward_update(ins, cst, runs, first, v, g, need, lr, look, x_next, ahead, done):
    """:func:`tape.backward` with each parameter updated where its gradient is found (after
    its old value served the other side); a run with ``look[r] = o >= 0`` (its other side is
    the batched argument read ahead, from column o) also takes its product with the next
    example's row ``x_next`` (empty after the last example)."""
    for k in range(ins.shape[0] - 1, -1, -1):
        i = first + k
        if not need[i]:
            continue
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        gi = g[i]
        if op == DOT:
            for r in range(a, a + b):
                p, q, n = runs[r, 0], runs[r, 1], runs[r, 2]
                if n < SHORT:       # in place: a call costs more than a few products
                    for m in range(n):
                        if q >= first:
                            g[q + m] += gi * v[p + m]
                        if p >= first:
                            g[p + m] += gi * v[q + m]
                    if need[p] and p < first:
                        for m in range(n):
                            v[p + m] -= lr * gi * v[q + m]
                    if need[q] and q < first:
                        for m in range(n):
                            v[q + m] -= lr * gi * v[p + m]
                    continue
                if q >= first:
                    run_axpy(g, q, gi, v, p, n)
                if p >= first:
                    run_axpy(g, p, gi, v, q, n)
                if need[p] and p < first:
                    o = look[r]
                    if o >= 0 and x_next.shape[0] > 0:
                        ahead[r] = run_axpy_dot(v, p, -lr * gi, q, n, x_next, o)
                        done[r] = True
                    else:
                        run_axpy(v, p, -lr * gi, v, q, n)
                if need[q] and q < first:
                    run_axpy(v, q, -lr * gi, v, p, n)
        elif op == ADD:
            g[a] += gi
            g[b] += gi
        elif op == MUL:
            g[a] += gi * v[b]
            g[b] += gi * v[a]
        elif op == SUB:
            g[a] += gi
            g[b] -= gi
        elif op == DIV:
            g[a] += gi / v[b]
            g[b] -= gi * v[i] / v[b]
        elif op == WHERE:
            if v[a] != 0.0:
                g[b] += gi
            else:
                g[ins[k, 3]] += gi
        elif op == GT or op == GE:
            pass
        else:
            g[a] += gi * unary_grad(op, v[a], v[i], cst[k])


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_epoch_direct(ins, cst, runs, first, v, g, need, out, B, cols, wrt, order, lr,
                     step_loss, look, ahead_arg, ahead, done):
    """One epoch of per-example SGD, fused. Returns -1, the first step whose loss is not
    finite, or -2 if a parameter became non-finite. The update of a step is applied before
    its gradient could be checked, so on any failure the caller replays the epoch with
    :func:`batch.sgd_epoch`, which stops before the step whose loss or gradient fails."""
    n = order.shape[0]
    for r in range(done.shape[0]):
        done[r] = False
    for s in range(n):
        load_row(v, B, cols, order[s])
        forward_ahead(ins, cst, runs, first, v, ahead, done)
        for r in range(done.shape[0]):
            done[r] = False
        step_loss[s] = v[out]
        if not math.isfinite(v[out]):
            return s
        for t in range(first, g.shape[0]):
            g[t] = 0.0
        g[out] = 1.0
        # the row read ahead: one view per example, not one per run
        x_next = B[ahead_arg][order[s + 1]] if s + 1 < n else B[ahead_arg][0][:0]
        backward_update(ins, cst, runs, first, v, g, need, lr, look, x_next, ahead, done)
    for w in wrt:
        if not math.isfinite(v[w]):
            return -2
    return -1
