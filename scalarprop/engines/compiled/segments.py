"""The tape cut into segments for the per-example SGD epochs: a layer's activations, one
loop instead of one dispatch per unit.

A layer of the lecture's MLP puts ``n`` like operations side by side: ``h[j] = σ(k[j])`` for
every unit, instruction after instruction, each reading the slot after the last one's. A
segment ``(k0, k1, op)`` with ``op >= 0`` is such a stretch of one unary op (same constant,
operands ``a, a+1, ...``, all below the segment's own slots, all needed by the backward walk);
``op = -1`` is a stretch of other instructions, walked one at a time as :mod:`tape` walks them.

The tricks, measured on the traced 784-128-10 MLP's blocked SGD epoch (AVX-512; the block
kernel's time per example):

- a segment is one loop over slices of ``v`` and ``g`` (a slice per segment, not per unit: a
  slice costs a reference count): no op-code dispatch per unit;
- a sigmoid segment's forward is :func:`~scalarprop.functions.sigmoid_simd`, arithmetic that
  LLVM vectorizes, in place of a libm ``exp`` per unit (equal within 3 units in the last
  place); its backward ``x̄ += ȳ · y(1 − y)`` is the same arithmetic as :func:`tape.pullback`'s.

The forward and the update walk of :mod:`fused` take the segments; the plain walks of
:mod:`tape` stay as the readable form, and the epochs are tested equal to them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ...functions import sigmoid_simd
from .ops import SIGMOID, UNARY
from .tape import forward_range, unary, unary_grad

#: shorter stretches of a unary op are walked one at a time
MIN_LENGTH = 4


def segments(ins: np.ndarray, cst: np.ndarray, first: int, need: np.ndarray) -> np.ndarray:
    """The tape ``ins`` as rows ``(k0, k1, op)`` covering it in order (see the module
    docstring)."""
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
        if j - k >= MIN_LENGTH:
            rows.append([k, j, codes[k]])
        elif rows and rows[-1][2] == -1:
            rows[-1][1] = j
        else:
            rows.append([k, j, -1])
        k = j
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


@njit(cache=True, nogil=True, error_model="numpy")
def forward(ins, cst, runs, first, v, seg):
    """:func:`tape.forward`, a segment at a time."""
    for s in range(seg.shape[0]):
        k0, k1, op = seg[s, 0], seg[s, 1], seg[s, 2]
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
