"""Part 3, made fast: the same matrix equations, arranged for BLAS and the memory system.

:mod:`scalarprop.vectorized` is the lecture's matrix form, one numpy expression per equation;
this module runs the same gradient descent epoch (tested equal to it within 1e-12) with the
work arranged so that a step costs the BLAS calls and little else. Each trick was measured
on a 2-core x86 machine (one BLAS thread):

* the nodes are stored a unit per row, an example per column (``Kᵀ``, ``Hᵀ``, ``K∇ᵀ``,
  of shape units × batch): the slides' own column form ``k = W x + b``. The forward is then
  ``Kᵀ = W Xᵀ`` and the update ``W ← W − α K∇ᵀ X`` multiplies matrices as they lie (on
  784-128-10 the forward GEMM runs ~10% faster than ``K = X Wᵀ`` with AVX-512 kernels);
* the update is folded into the gradient GEMM: ``W ← W − α K∇ᵀ X`` is one ``dgemm`` with
  ``beta = 1`` writing into ``W`` itself, so ``W∇`` is never stored, and the flat gradient
  is never read back for ``θ ← θ − α ∇θ``. ``W`` is row-major (``net.params``), which BLAS
  (column-major) sees as ``Wᵀ``: the call is ``Wᵀ ← Wᵀ − α Xᵀ K∇``, no copies. The input
  gradient ``H∇ᵀ = Wᵀ K∇ᵀ`` of the layer below is taken first, from the old ``W``;
* the element-wise work of a layer is one pass of a small Numba kernel: ``K + b`` and the
  activation, written over ``K`` (``Hᵀ`` takes ``Kᵀ``'s place); in the backward
  ``K∇ = H∇ ⊙ σ'`` with ``σ'`` from ``H`` as the lecture writes it (``h (1 − h)``), written
  over ``H∇``, and ``b ← b − α Σₙ K∇``; the output layer's activation, loss, ``Z∇`` and
  bias update in one. numpy would make a temporary array per operator. ``σ'(K)`` is never
  stored: two arrays fewer for the cache. The sigmoid is
  :func:`~scalarprop.functions.sigmoid_simd`, arithmetic that LLVM vectorizes (a libm
  ``exp`` per element would not be); only ``tanh`` of a large layer comes from numpy. On
  784-128-10, batch 256 (AVX-512, one run): the forward's element-wise pass went from
  499 to 322 ns per example (numpy's SIMD ``exp`` between Numba passes before), the
  backward's from 100 to 33;
* every array is allocated once per epoch (the workspace) and written in place;
* a batch is a view of ``X`` where it can be (in-order data, or one example) and otherwise
  gathered into the workspace; targets are read through the batch's indices, never copied.

A step whose loss is not finite, or parameters that are not finite at the end of the epoch,
send the epoch back to its start and to the readable engine, which stops exactly before the
failing step: the same contract as :func:`scalarprop.vectorized.lecture_epoch`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from scipy.linalg.blas import dgemm

from .. import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ..functions import (
    BCE,
    CE,
    HINGE,
    RELU,
    SIGMOID,
    SOFTMAX,
    SQUARED,
    TANH,
    activation_backward,
    sigmoid_simd,
)
from . import vectorized

#: the row sums of the bias updates may be reordered (vectorized); nothing here calls a
#: function that other kernels share, which a fastmath kernel would compile fastmath too
FAST = {"reassoc", "contract"}
#: layers of at least this many elements (batch × units) take tanh from numpy
SIMD_MIN = 256

# -- the element-wise passes -----------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def hidden_forward(code, K, b):
    """One pass over a hidden layer (a unit per row), in place: ``K ← σ(K + b)``, the layer's
    ``H`` written over its ``K``. A loop per activation, so that each is a plain loop LLVM
    vectorizes; the sigmoid's is :func:`~scalarprop.functions.sigmoid_simd`, arithmetic
    without a libm call."""
    for j in range(K.shape[0]):
        bj = b[j]
        if code == SIGMOID:
            for n in range(K.shape[1]):
                K[j, n] = sigmoid_simd(K[j, n] + bj)
        elif code == TANH:
            for n in range(K.shape[1]):
                K[j, n] = math.tanh(K[j, n] + bj)
        elif code == RELU:
            for n in range(K.shape[1]):
                k = K[j, n] + bj
                K[j, n] = k if k > 0.0 else 0.0
        else:
            for n in range(K.shape[1]):
                K[j, n] += bj


def activate(code: int, K: np.ndarray, b: np.ndarray) -> None:
    """``K ← σ(K + b)`` in one pass of :func:`hidden_forward`, but for tanh on a large
    layer: Numba's ``tanh`` is a libm call per element (~5 ns), numpy's is SIMD, so a large
    layer takes it from numpy (each numpy call costs ~0.4 µs: a small layer stays in one
    pass)."""
    if code == TANH and K.size >= SIMD_MIN:
        np.add(K, b[:, None], out=K)
        np.tanh(K, out=K)
    else:
        hidden_forward(code, K, b)


@njit(cache=True, nogil=True, error_model="numpy")
def output_step(output, loss, Z, c, T, rows, Z_grad, lr, col):
    """The output layer (a unit per row, an example per column) in one pass per example:
    ``z = Z + c``, ``y = act(z)``, the loss, and ``Z∇ = dl/dz`` (``y − t`` for bce and ce,
    from the logits); then ``c ← c − α Σₙ Z∇``. ``T[rows[n]]`` is example ``n``'s target;
    ``col`` takes ``Σₙ Z∇``. Returns the batch's summed loss."""
    m = Z.shape[0]
    for j in range(m):
        col[j] = 0.0
    total = 0.0
    for n in range(Z.shape[1]):
        t = T[rows[n]]
        # z into Z, y into Z∇ (overwritten by the gradient below)
        zmax = -math.inf
        for j in range(m):
            z = Z[j, n] + c[j]
            Z[j, n] = z
            zmax = max(zmax, z)
        if output == SOFTMAX:
            s = 0.0
            for j in range(m):
                e = math.exp(Z[j, n] - zmax)
                Z_grad[j, n] = e
                s += e
            for j in range(m):
                Z_grad[j, n] /= s
            if loss == CE:
                total += zmax + math.log(s) - Z[int(t[0]), n]
        else:
            for j in range(m):
                z = Z[j, n]
                if output == SIGMOID:
                    e = math.exp(-abs(z))
                    Z_grad[j, n] = (1.0 if z >= 0.0 else e) / (1.0 + e)
                else:
                    Z_grad[j, n] = z
        if loss == CE:
            Z_grad[int(t[0]), n] -= 1.0
        elif loss == BCE:
            for j in range(m):
                z = Z[j, n]
                # softplus(z) − z t, stable for either sign of z
                total += max(z, 0.0) + math.log1p(math.exp(-abs(z))) - z * t[j]
                Z_grad[j, n] -= t[j]
        else:
            # y∇ = dl/dy into Z∇ beside y, then through the output activation
            s = 0.0
            for j in range(m):
                y = Z_grad[j, n]
                if loss == SQUARED:
                    total += (y - t[j]) ** 2
                    y_grad = 2.0 * (y - t[j])
                elif loss == HINGE:
                    total += max(0.0, 1.0 - t[j] * y)
                    y_grad = -t[j] if 1.0 - t[j] * y > 0.0 else 0.0
                else:  # absolute
                    total += abs(y - t[j])
                    y_grad = 1.0 if y > t[j] else (-1.0 if y < t[j] else 0.0)
                s += y_grad * y
                if output == SIGMOID:
                    Z_grad[j, n] = y_grad * y * (1.0 - y)
                elif output == SOFTMAX:
                    Z_grad[j, n] = y_grad           # the Jacobian needs s first
                else:
                    Z_grad[j, n] = y_grad
            if output == SOFTMAX:
                # z∇_j = y_j (y∇_j − Σᵢ y∇ᵢ yᵢ); y_j is e^(z_j − zmax) / Σ again
                norm = 0.0
                for j in range(m):
                    norm += math.exp(Z[j, n] - zmax)
                for j in range(m):
                    Z_grad[j, n] = math.exp(Z[j, n] - zmax) / norm * (Z_grad[j, n] - s)
        for j in range(m):
            col[j] += Z_grad[j, n]
    for j in range(m):
        c[j] -= lr * col[j]
    return total


# -- the epoch -------------------------------------------------------------------------------


class Workspace:
    """Every array one step needs, for a network and a batch of ``B`` examples, made once:
    for layer ``l`` its ``W`` and ``b`` (views into ``net.params``), ``Kᵀ`` (a unit per row,
    an example per column; a hidden layer's ``Hᵀ`` is written over it) and ``K∇ᵀ`` (where
    ``H∇ᵀ`` arrives first), and a gathered batch of ``X``. Nothing else: σ'(K) comes from
    ``H`` in the backward, so each array the step touches is one that stays in the cache."""

    def __init__(self, net: Any, B: int) -> None:
        L = net.num_layers
        self.hidden = int(net.spec[0])
        self.output = int(net.spec[1])
        self.loss = int(net.spec[2])
        self.W = [net.weights(l) for l in range(L)]
        self.b = [net.biases(l) for l in range(L)]
        widths = net.sizes[1:]
        self.K = [np.empty((n, B)) for n in widths]
        self.K_grad = [np.empty((n, B)) for n in widths]
        self.X = np.empty((B, net.sizes[0]))
        self.col = np.empty(widths[-1])        # the output bias's row sums


def step(ws: Workspace, X: np.ndarray, T: np.ndarray, rows: np.ndarray, lr: float) -> float:
    """One step on the batch ``X`` (as many rows as the workspace has columns; ``T[rows]``
    its targets), parameters updated in place. Returns the batch's loss before the update."""
    L = len(ws.W)
    src = X.T                                  # Xᵀ: an example per column, as the nodes
    for l in range(L - 1):                     # Kᵀ = W Xᵀ, then Hᵀ = σ(Kᵀ + b) over it
        np.matmul(ws.W[l], src, out=ws.K[l])
        activate(ws.hidden, ws.K[l], ws.b[l])
        src = ws.K[l]
    Z, Z_grad = ws.K[L - 1], ws.K_grad[L - 1]
    np.matmul(ws.W[L - 1], src, out=Z)
    loss = output_step(ws.output, ws.loss, Z, ws.b[L - 1], T, rows, Z_grad, lr, ws.col)
    K_grad = Z_grad
    for l in range(L - 1, -1, -1):
        W = ws.W[l]
        if l > 0:
            np.matmul(W.T, K_grad, out=ws.K_grad[l - 1])   # H∇ᵀ = Wᵀ K∇ᵀ, from the old W
        # W ← W − α K∇ᵀ X as BLAS (column-major) sees row-major arrays: Wᵀ ← Wᵀ − α Xᵀ K∇.
        # Every operand is handed over as the column-major array it already is: no copies.
        if l == 0:
            dgemm(-lr, X.T, K_grad.T, 1.0, W.T, overwrite_c=1)
        else:
            dgemm(-lr, ws.K[l - 1].T, K_grad.T, 1.0, W.T, trans_a=1, overwrite_c=1)
        if l > 0:
            activation_backward(ws.hidden, ws.K[l - 1], ws.K_grad[l - 1], ws.K_grad[l - 1],
                                -lr, 1.0, ws.b[l - 1])
            K_grad = ws.K_grad[l - 1]
    return loss


def train_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
                lr: float, step_loss: np.ndarray) -> int:
    """One epoch of gradient descent on checked arrays (the contract of
    :func:`scalarprop.vectorized.lecture_epoch`): batches ``X[order[s*B:(s+1)*B]]``, each
    step's loss in ``step_loss[s]``. Returns -1, or the first failing step with ``net.params``
    as they were before it."""
    n = order.shape[0]
    B = min(batch_size, n)
    start = net.params.copy()
    full, last = Workspace(net, B), (Workspace(net, n % B) if n % B else None)
    # in-order data: every batch is a view of X; one example is always a view
    views = B == 1 or bool(np.array_equal(order, np.arange(n)))
    failed = False
    with np.errstate(all="ignore"):           # a diverging run is reported, not warned
        for s in range((n + B - 1) // B):
            rows = order[s * B:(s + 1) * B]
            ws = full if rows.shape[0] == B else last
            if views:
                lo = int(rows[0])
                Xb = X[lo:lo + rows.shape[0]]
            else:
                Xb = np.take(X, rows, axis=0, out=ws.X)
            loss = step(ws, Xb, T, rows, lr)
            step_loss[s] = loss
            if not math.isfinite(loss):
                failed = True
                break
    if not failed and np.isfinite(net.params).all():
        return -1
    net.params[:] = start
    return vectorized.lecture_epoch(net, X, T, order, batch_size, lr, step_loss)
