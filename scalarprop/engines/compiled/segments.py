"""The tape cut into segments for the per-example SGD epochs: a layer's activations or its
dots, one loop instead of one dispatch per unit.

A layer of the lecture's MLP puts ``n`` like operations side by side: ``h[j] = σ(k[j])`` for
every unit, instruction after instruction, each reading the slot after the last one's. A
segment ``(k0, k1, op)`` with ``op >= 0`` is such a stretch of one unary op (same constant,
operands ``a, a+1, ...``, all below the segment's own slots, all needed by the backward walk),
or of DOTs whose runs have one shape unit after unit (a layer's ``k[j] = W[j]·h + b[j]``);
``op = -1`` is a stretch of other instructions, walked one at a time as :mod:`tape` walks them.

The tricks, measured on the traced 784-128-10 MLP's blocked SGD epoch (AVX-512; the block
kernel's time per example):

- a segment is one loop over slices of ``v`` and ``g`` (a slice per segment, not per unit: a
  slice costs a reference count): no op-code dispatch per unit;
- a sigmoid segment's forward is :func:`~scalarprop.functions.sigmoid_simd`, arithmetic that
  LLVM vectorizes, in place of a libm ``exp`` per unit (equal within 3 units in the last
  place); its backward ``x̄ += ȳ · y(1 − y)`` is the same arithmetic as :func:`tape.pullback`'s
  (with the first bullet, the forward walk 1.86 -> 1.27 µs per example);
- a layer of DOTs is walked one position of the runs at a time across its units, with no
  op-code dispatch per unit (the forward walk 1.28 -> 1.09 µs per example; its update walk:
  :func:`fused.update_layer`).

The forward and the update walk of :mod:`fused` take the segments; the plain walks of
:mod:`tape` stay as the readable form, and the epochs are tested equal to them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ...functions import sigmoid_simd
from .ops import DOT, SIGMOID, UNARY
from .tape import SHORT, forward_range, run_dot, unary, unary_grad

#: shorter stretches of a unary op are walked one at a time
MIN_LENGTH = 4


def segments(ins: np.ndarray, cst: np.ndarray, first: int, need: np.ndarray,
             runs: np.ndarray | None = None, act: np.ndarray | None = None) -> np.ndarray:
    """The tape ``ins`` as rows ``(k0, k1, op)`` covering it in order (see the module
    docstring); with the DOTs' ``runs`` and the update walk's actions ``act``
    (:func:`fused.actions`), layers of DOTs too."""
    rows: list[list[int]] = []
    K = ins.shape[0]
    codes, operands = ins[:, 0].tolist(), ins[:, 1].tolist()
    needed = need[first:first + K].tolist()
    k = 0
    while k < K:
        j = k + 1
        if codes[k] in UNARY and needed[k]:
            # grow while the next is the same op on the next slot, and reads below slot k
            while j < K and codes[j] == codes[k] and cst[j] == cst[k] and needed[j] and \
                    operands[j] == operands[j - 1] + 1 and operands[j] < first + k:
                j += 1
        elif codes[k] == DOT and needed[k] and runs is not None and act is not None:
            shape = layer_shape(ins, runs, act, k)
            while j < K and codes[j] == DOT and needed[j] and \
                    ins[j, 1] == ins[j - 1, 1] + ins[j - 1, 2] and \
                    layer_shape(ins, runs, act, j) == shape and \
                    reads_below(ins, runs, j, first + k):
                j += 1
        if j - k >= MIN_LENGTH:
            rows.append([k, j, codes[k]])
        elif rows and rows[-1][2] == -1:
            rows[-1][1] = j
        else:
            rows.append([k, j, -1])
        k = j
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def layer_shape(ins: np.ndarray, runs: np.ndarray, act: np.ndarray, k: int) -> list[int]:
    """DOT k's runs as the update walk sees them: each one's length and action. A layer's
    units have the same shape."""
    r = slice(int(ins[k, 1]), int(ins[k, 1] + ins[k, 2]))
    return runs[r, 2].tolist() + act[r].tolist()


def reads_below(ins: np.ndarray, runs: np.ndarray, k: int, slot: int) -> bool:
    """Does DOT k read only slots below ``slot``?"""
    r = runs[ins[k, 1]:ins[k, 1] + ins[k, 2]]
    return bool((np.maximum(r[:, 0], r[:, 1]) + r[:, 2] <= slot).all())


@njit(cache=True, nogil=True, error_model="numpy")
def forward(ins, cst, runs, first, v, seg):
    """:func:`tape.forward`, a segment at a time."""
    for s in range(seg.shape[0]):
        k0, k1, op = seg[s, 0], seg[s, 1], seg[s, 2]
        if op == DOT:
            forward_layer(ins, runs, first, v, k0, k1)
            continue
        if op < 0:
            forward_range(ins, cst, runs, first, v, k0, k1)
            continue
        a = ins[k0, 1]
        x = v[a:a + k1 - k0]
        y = v[first + k0:first + k1]
        if op == SIGMOID:
            for m in range(len(y)):
                y[m] = sigmoid_simd(x[m])
        else:
            c = cst[k0]
            for m in range(len(y)):
                y[m] = unary(op, x[m], c)


@njit(cache=True, nogil=True, error_model="numpy")
def forward_layer(ins, runs, first, v, k0, k1):
    """The DOTs of a layer, one position of their runs at a time across the units: each
    unit's sum takes its runs in the order :func:`tape.forward` takes them."""
    R, r0, i0 = ins[k0, 2], ins[k0, 1], first + k0
    for j in range(k1 - k0):
        v[i0 + j] = 0.0
    for t in range(R):
        for j in range(k1 - k0):
            r = r0 + j * R + t
            p, q, n = runs[r, 0], runs[r, 1], runs[r, 2]
            if n == 1:
                v[i0 + j] += v[p] * v[q]
            elif n < SHORT:
                s = v[i0 + j]
                for m in range(n):
                    s += v[p + m] * v[q + m]
                v[i0 + j] = s
            else:
                v[i0 + j] += run_dot(v, p, q, n)


@njit(cache=True, nogil=True, error_model="numpy")
def pullback_segment(ins, cst, first, v, g, k0, k1, op):
    """``x̄ += ȳ · ∂y/∂x`` for the unary segment ``k0 ≤ k < k1`` (operands consecutive)."""
    a = ins[k0, 1]
    x = v[a:a + k1 - k0]
    gx = g[a:a + k1 - k0]
    y = v[first + k0:first + k1]
    gy = g[first + k0:first + k1]
    if op == SIGMOID:
        for m in range(len(y)):
            gx[m] += gy[m] * (y[m] * (1.0 - y[m]))
    else:
        c = cst[k0]
        for m in range(len(y)):
            gx[m] += gy[m] * unary_grad(op, x[m], y[m], c)
