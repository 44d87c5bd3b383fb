"""Gradient descent on a small graph (every DOT run shorter than ``tape.SHORT``, a 2-3-1
network): :func:`batch.sgd_epoch` with the walks inlined into the epoch's kernel and every
run looped by index.

A small network's example is a few dozen multiply-adds; what costs is the machinery around
them. Each call of a kernel that takes arrays costs an atomic reference count per array,
which on a 2-3-1 network cost more than the arithmetic. The plain walks of :mod:`tape` keep
a branch for long runs that calls :func:`tape.run_dot` and :func:`tape.run_axpy` (arrays
again); the walks here have none, so inlined into the epoch they leave no reference count in
the loop over examples. Per-example SGD on 2-3-1 (AVX-512): 203 ns per example with
:func:`batch.sgd_epoch`, 122 with this one (the hand-written kernel: 87).

The same operations in the same order as :func:`batch.sgd_epoch` on such a graph (its short
runs are indexed loops too), so the results are equal (tested). Per example, where every
parameter is used once in a DOT, :func:`sgd_epoch_direct` updates each in the backward walk,
with the same numbers.
"""

from __future__ import annotations

import math

from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from .batch import load_row
from .ops import ABS, DOT, NEG, WHERE
from .tape import pullback, unary, unary_grad, value


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def forward_indexed(ins, cst, runs, first, v):
    """:func:`tape.forward` with every run looped by index, and a unary op (an activation)
    sent to :func:`tape.unary` before the binary ops are tested (with the backward's
    likewise, 2-3-1's direct epoch went from 118 to 109 ns per example)."""
    for k in range(ins.shape[0]):
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        if op == DOT:
            s = 0.0
            for r in range(a, a + b):
                p, q = runs[r, 0], runs[r, 1]
                for m in range(runs[r, 2]):
                    s += v[p + m] * v[q + m]
            v[first + k] = s
        elif NEG <= op <= ABS:              # a unary op: no test of the binary ones first
            v[first + k] = unary(op, v[a], cst[k])
        else:
            v[first + k] = value(op, v, a, b, ins[k, 3], cst[k])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def backward_indexed(ins, cst, runs, first, v, g, need):
    """:func:`tape.backward` with every run looped by index."""
    for k in range(ins.shape[0] - 1, -1, -1):
        i = first + k
        if not need[i]:
            continue
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        gi = g[i]
        if op == DOT:
            for r in range(a, a + b):
                p, q = runs[r, 0], runs[r, 1]
                for m in range(runs[r, 2]):
                    g[p + m] += gi * v[q + m]
                    g[q + m] += gi * v[p + m]
        elif NEG <= op <= ABS:
            g[a] += gi * unary_grad(op, v[a], v[i], cst[k])
        elif op == WHERE:
            g[b if v[a] != 0.0 else ins[k, 3]] += gi
        else:
            ga, gb = pullback(op, v[a], v[b], v[i], gi, cst[k])
            g[a] += ga
            g[b] += gb


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_epoch(ins, cst, runs, first, v, g, need, out, B, cols, wrt, order, batch_size, lr,
              step_loss):
    """:func:`batch.sgd_epoch` (same arguments, same contract) with the walks above."""
    n = order.shape[0]
    steps = (n + batch_size - 1) // batch_size
    for s in range(steps):
        for m in range(wrt.shape[0]):      # indexed: an iterator over wrt is a reference
            g[wrt[m]] = 0.0
        total = 0.0
        for r in range(s * batch_size, min(n, (s + 1) * batch_size)):
            load_row(v, B, cols, order[r])
            forward_indexed(ins, cst, runs, first, v)
            total += v[out]
            for t in range(first, g.shape[0]):
                g[t] = 0.0
            g[out] += 1.0
            backward_indexed(ins, cst, runs, first, v, g, need)
        step_loss[s] = total
        finite = math.isfinite(total)
        for m in range(wrt.shape[0]):
            finite = finite and math.isfinite(g[wrt[m]])
        if not finite:
            return s
        for m in range(wrt.shape[0]):
            v[wrt[m]] -= lr * g[wrt[m]]
    return -1


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def backward_direct(ins, cst, runs, first, v, g, need, lr):
    """:func:`backward_indexed` with each parameter updated where its gradient is found,
    ``w −= lr · (ȳ · x)``: the same numbers :func:`sgd_epoch` subtracts at the end of the
    step, when every parameter is used once, as one side of a DOT (its old value has served
    the other side already). A parameter is a slot below ``first`` that ``need`` marks."""
    for k in range(ins.shape[0] - 1, -1, -1):
        i = first + k
        if not need[i]:
            continue
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        gi = g[i]
        if op == DOT:
            for r in range(a, a + b):
                p, q = runs[r, 0], runs[r, 1]
                for m in range(runs[r, 2]):
                    if p < first and need[p + m]:
                        g[q + m] += gi * v[p + m]
                        v[p + m] -= lr * (gi * v[q + m])
                    elif q < first and need[q + m]:
                        g[p + m] += gi * v[q + m]
                        v[q + m] -= lr * (gi * v[p + m])
                    else:
                        g[p + m] += gi * v[q + m]
                        g[q + m] += gi * v[p + m]
        elif NEG <= op <= ABS:
            g[a] += gi * unary_grad(op, v[a], v[i], cst[k])
        elif op == WHERE:
            g[b if v[a] != 0.0 else ins[k, 3]] += gi
        else:
            ga, gb = pullback(op, v[a], v[b], v[i], gi, cst[k])
            g[a] += ga
            g[b] += gb


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_epoch_direct(ins, cst, runs, first, v, g, need, out, B, cols, wrt, order, lr,
                     step_loss):
    """Per-example :func:`sgd_epoch` with the updates in the backward walk (no pass over the
    parameters per step: 2-3-1, 126 -> 118 ns per example, AVX-512). Returns -1, the first
    step whose loss is not finite, or -2 if a parameter became non-finite; a step is applied
    before its gradient could be checked, so on any failure the caller replays the epoch
    with :func:`sgd_epoch`, which stops before the failing step."""
    for s in range(order.shape[0]):
        load_row(v, B, cols, order[s])
        forward_indexed(ins, cst, runs, first, v)
        step_loss[s] = v[out]
        if not math.isfinite(v[out]):
            return s
        for t in range(first, g.shape[0]):
            g[t] = 0.0
        g[out] = 1.0
        backward_direct(ins, cst, runs, first, v, g, need, lr)
    for m in range(wrt.shape[0]):
        if not math.isfinite(v[wrt[m]]):
            return -2
    return -1
