"""The tape back end: ONE set of precompiled Numba kernels runs any traced function.

A program is a tape of instructions ``(op, a, b, c)`` over one value array ``v`` (see
:mod:`program`): instruction ``k`` writes slot ``first + k``. The kernels below walk it:

- forward (slide 37): ``v[i] = op(v[a], v[b])`` for every instruction, in order;
- backward (slide 30, from the output down): ``g[x] += g[y] · ∂y/∂x`` for every operand x
  of every instruction y, in reverse order;
- tangents (forward mode): ``dv[i] = Σₓ ∂y/∂x · dv[x]``, the directional derivative;
- forward over reverse: the backward walk differentiated along ``dv``, the exact
  Hessian-vector product.

The kernels are compiled once, cached on disk (``cache=True``), and never again: a new
function is new data, not new code. ``need[s]`` marks the slots that depend on an input we
differentiate with respect to; the backward walk skips the others.
"""

from __future__ import annotations

import math

from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from .ops import (
    ADD,
    COS,
    DIV,
    DOT,
    EXP,
    GE,
    GT,
    LOG,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SUB,
    TANH,
    WHERE,
)

# -- one operation: value, first and second local derivative ------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def unary(op, x, c):
    """y = op(x) (c: POW's exponent)."""
    if op == SIGMOID:
        e = math.exp(-abs(x))
        return 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
    if op == TANH:
        return math.tanh(x)
    if op == RELU:
        return x if x > 0.0 else 0.0
    if op == EXP:
        return math.exp(x)
    if op == LOG:
        return math.log(x) if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
    if op == SIN:
        return math.sin(x)
    if op == COS:
        return math.cos(x)
    if op == NEG:
        return -x
    if op == POW:
        # a square (the squared loss) as a product: exact, and no libm pow call
        return x * x if c == 2.0 else x ** c
    return abs(x)


@njit(cache=True, nogil=True, error_model="numpy")
def unary_grad(op, x, y, c):
    """∂y/∂x, written from the stored output where the lecture does (σ' = y(1 − y))."""
    if op == SIGMOID:
        return y * (1.0 - y)
    if op == TANH:
        return 1.0 - y * y
    if op == RELU:
        return 1.0 if x > 0.0 else 0.0
    if op == EXP:
        return y
    if op == LOG:
        return 1.0 / x
    if op == SIN:
        return math.cos(x)
    if op == COS:
        return -math.sin(x)
    if op == NEG:
        return -1.0
    if op == POW:
        return 2.0 * x if c == 2.0 else c * x ** (c - 1.0)
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def unary_grad_tangent(op, x, y, c, dx, dy):
    """The change of ∂y/∂x along the tangent (dx, dy): d(∂y/∂x) = ∂²y/∂x² · dx."""
    if op == SIGMOID:
        return (1.0 - 2.0 * y) * dy
    if op == TANH:
        return -2.0 * y * dy
    if op == EXP:
        return dy
    if op == LOG:
        return -dx / (x * x)
    if op == SIN:
        return -math.sin(x) * dx
    if op == COS:
        return -math.cos(x) * dx
    if op == POW:
        return c * (c - 1.0) * x ** (c - 2.0) * dx
    return 0.0      # neg, relu, abs: piecewise linear


# -- one run of a DOT: Σₘ v[p+m] v[q+m], and its backward -----------------------------------
# fastmath reassoc/contract on these loops only, so that LLVM vectorizes the sums (strict IEEE
# order cannot); the walks that call them stay strict. Short runs (a bias, a scattered pair)
# are indexed: a slice costs a reference count, which dominates a run of a few numbers.

SHORT = 8


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def run_dot(v, p, q, n):
    """Σₘ v[p+m] · v[q+m] for m < n."""
    s = 0.0
    if n < SHORT:
        for m in range(n):
            s += v[p + m] * v[q + m]
        return s
    a = v[p:p + n]
    b = v[q:q + n]
    for m in range(len(a)):
        s += a[m] * b[m]
    return s


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def run_axpy(g, p, alpha, v, q, n):
    """g[p+m] += alpha · v[q+m] for m < n (g and v may be the same array: the ranges of a
    run never overlap, p and q lie in different regions)."""
    if n < SHORT:
        for m in range(n):
            g[p + m] += alpha * v[q + m]
        return
    a = g[p:p + n]
    b = v[q:q + n]
    for m in range(len(a)):
        a[m] += alpha * b[m]


# -- forward ---------------------------------------------------------------------------------
# The walks that run once per example, and ``value`` that runs once per op, are inlined
# (``inline="always"``) into the kernels that call them: a call that takes arrays costs an
# atomic reference count per array, which on a small network costs more than the arithmetic
# (2-3-1 per-example SGD with batch.sgd_epoch: 416 -> 241 ns per example, AVX-512).


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def value(op, v, a, b, d, c):
    """The value of one op other than DOT from the slots it reads: ``a`` and ``b`` (``d`` is
    WHERE's other branch, ``c`` a unary op's constant)."""
    if op == ADD:
        return v[a] + v[b]
    if op == MUL:
        return v[a] * v[b]
    if op == SUB:
        return v[a] - v[b]
    if op == DIV:
        return v[a] / v[b]
    if op == WHERE:
        return v[b] if v[a] != 0.0 else v[d]
    if op == GT:
        return 1.0 if v[a] > v[b] else 0.0
    if op == GE:
        return 1.0 if v[a] >= v[b] else 0.0
    return unary(op, v[a], c)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def forward(ins, cst, runs, first, v):
    """Slide 37: every instruction's value, in order."""
    forward_range(ins, cst, runs, first, v, 0, ins.shape[0])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def forward_range(ins, cst, runs, first, v, k0, k1):
    """The values of instructions ``k0 ≤ k < k1``."""
    for k in range(k0, k1):
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        i = first + k
        if op == DOT:
            s = 0.0
            for r in range(a, a + b):
                p, q, n = runs[r, 0], runs[r, 1], runs[r, 2]
                if n < SHORT:
                    for m in range(n):
                        s += v[p + m] * v[q + m]
                else:
                    s += run_dot(v, p, q, n)
            v[i] = s
        else:
            v[i] = value(op, v, a, b, ins[k, 3], cst[k])


@njit(cache=True, nogil=True, error_model="numpy")
def pullback(op, xa, xb, y, gy, c):
    """``(ȳ · ∂y/∂a, ȳ · ∂y/∂b)`` for ``y = op(a, b)``, an op other than DOT and WHERE, from
    the numbers alone (numbers, not the arrays: a call that takes arrays costs more than the
    op). A unary op's second operand slot is 0 and gets 0; a comparison is flat."""
    if op == ADD:
        return gy, gy
    if op == MUL:
        return gy * xb, gy * xa
    if op == SUB:
        return gy, -gy
    if op == DIV:
        return gy / xb, -(gy * y / xb)
    if op == GT or op == GE:
        return 0.0, 0.0
    return gy * unary_grad(op, xa, y, c), 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def backward(ins, cst, runs, first, v, g, need):
    """Slide 30, walking down: ``g[x] += g[y] · ∂y/∂x``. ``g`` holds the output's seed; the
    computed slots' gradients must start at zero."""
    for k in range(ins.shape[0] - 1, -1, -1):
        i = first + k
        if not need[i]:
            continue
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        gi = g[i]
        if op == DOT:
            for r in range(a, a + b):
                p, q, n = runs[r, 0], runs[r, 1], runs[r, 2]
                if n < SHORT:
                    for m in range(n):
                        g[p + m] += gi * v[q + m]
                        g[q + m] += gi * v[p + m]
                    continue
                if need[p] or p >= first:
                    run_axpy(g, p, gi, v, q, n)
                if need[q] or q >= first:
                    run_axpy(g, q, gi, v, p, n)
        elif op == WHERE:
            g[b if v[a] != 0.0 else ins[k, 3]] += gi
        else:
            ga, gb = pullback(op, v[a], v[b], v[i], gi, cst[k])
            g[a] += ga
            g[b] += gb


@njit(cache=True, nogil=True, error_model="numpy")
def dependence(ins, runs, first, need):
    """``need[i]`` for the computed slots: does slot i depend on a marked input?"""
    for k in range(ins.shape[0]):
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        d = False
        if op == DOT:
            for r in range(a, a + b):
                for m in range(runs[r, 2]):
                    d = d or need[runs[r, 0] + m] or need[runs[r, 1] + m]
        elif op == WHERE:
            d = need[b] or need[ins[k, 3]]
        elif op == GT or op == GE:
            d = False
        elif op == ADD or op == SUB or op == MUL or op == DIV:
            d = need[a] or need[b]
        else:
            d = need[a]
        need[first + k] = d


# -- forward mode and forward over reverse ----------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def tangent(ins, cst, runs, first, v, dv):
    """Values and tangents in one forward walk: ``dv[i] = Σₓ ∂y/∂x · dv[x]``."""
    for k in range(ins.shape[0]):
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        i = first + k
        if op == DOT:
            s = 0.0
            ds = 0.0
            for r in range(a, a + b):
                p, q = runs[r, 0], runs[r, 1]
                for m in range(runs[r, 2]):
                    s += v[p + m] * v[q + m]
                    ds += dv[p + m] * v[q + m] + v[p + m] * dv[q + m]
            v[i] = s
            dv[i] = ds
        elif op == ADD:
            v[i] = v[a] + v[b]
            dv[i] = dv[a] + dv[b]
        elif op == MUL:
            v[i] = v[a] * v[b]
            dv[i] = dv[a] * v[b] + v[a] * dv[b]
        elif op == SUB:
            v[i] = v[a] - v[b]
            dv[i] = dv[a] - dv[b]
        elif op == DIV:
            v[i] = v[a] / v[b]
            dv[i] = (dv[a] - v[i] * dv[b]) / v[b]
        elif op == WHERE:
            c = ins[k, 3]
            v[i] = v[b] if v[a] != 0.0 else v[c]
            dv[i] = dv[b] if v[a] != 0.0 else dv[c]
        elif op == GT:
            v[i] = 1.0 if v[a] > v[b] else 0.0
            dv[i] = 0.0
        elif op == GE:
            v[i] = 1.0 if v[a] >= v[b] else 0.0
            dv[i] = 0.0
        else:
            v[i] = unary(op, v[a], cst[k])
            dv[i] = unary_grad(op, v[a], v[i], cst[k]) * dv[a]


@njit(cache=True, nogil=True, error_model="numpy")
def backward_tangent(ins, cst, runs, first, v, dv, g, dg, need):
    """The backward walk and its derivative along ``dv`` (forward over reverse):
    ``dg[x] += dg[y] · ∂y/∂x + g[y] · d(∂y/∂x)``. After it, ``dg`` of the inputs is H·dv."""
    for k in range(ins.shape[0] - 1, -1, -1):
        i = first + k
        if not need[i]:
            continue
        op, a, b = ins[k, 0], ins[k, 1], ins[k, 2]
        gi, dgi = g[i], dg[i]
        if op == DOT:
            for r in range(a, a + b):
                p, q = runs[r, 0], runs[r, 1]
                for m in range(runs[r, 2]):
                    g[p + m] += gi * v[q + m]
                    dg[p + m] += dgi * v[q + m] + gi * dv[q + m]
                    g[q + m] += gi * v[p + m]
                    dg[q + m] += dgi * v[p + m] + gi * dv[p + m]
        elif op == ADD:
            g[a] += gi
            g[b] += gi
            dg[a] += dgi
            dg[b] += dgi
        elif op == MUL:
            g[a] += gi * v[b]
            g[b] += gi * v[a]
            dg[a] += dgi * v[b] + gi * dv[b]
            dg[b] += dgi * v[a] + gi * dv[a]
        elif op == SUB:
            g[a] += gi
            g[b] -= gi
            dg[a] += dgi
            dg[b] -= dgi
        elif op == DIV:
            y, x2 = v[i], v[b]
            g[a] += gi / x2
            dg[a] += dgi / x2 - gi * dv[b] / (x2 * x2)
            g[b] -= gi * y / x2
            dg[b] -= dgi * y / x2 + gi * (dv[i] / x2 - y * dv[b] / (x2 * x2))
        elif op == WHERE:
            c = b if v[a] != 0.0 else ins[k, 3]
            g[c] += gi
            dg[c] += dgi
        elif op == GT or op == GE:
            pass
        else:
            d = unary_grad(op, v[a], v[i], cst[k])
            g[a] += gi * d
            dg[a] += dgi * d + gi * unary_grad_tangent(op, v[a], v[i], cst[k], dv[a], dv[i])
