"""Part 3, made fast: the same matrix equations, arranged for BLAS and the memory system.

:mod:`scalarprop.vectorized` is the lecture's matrix form, one numpy expression per equation;
this module runs the same gradient descent epoch (tested equal to it within 1e-12) with the
work arranged so that a step costs the BLAS calls and little else. Each trick was measured
on a 2-core x86 machine (one BLAS thread):

* the update is folded into the gradient GEMM: ``W ← W − α K∇ᵀ X`` is one ``dgemm`` with
  ``beta = 1`` writing into ``W`` itself, so ``W∇`` is never stored, and the flat gradient
  is never read back for ``θ ← θ − α ∇θ``. ``W`` is row-major (``net.params``), which BLAS
  (column-major) sees as ``Wᵀ``: the call is ``Wᵀ ← Wᵀ − α Xᵀ K∇``, no copies. The input
  gradient ``H∇ = K∇ W`` of the layer below is taken first, from the old ``W``;
* the element-wise work of a layer is one pass of a small Numba kernel: ``K + b``, the
  activation and its derivative ``σ'(K)`` in the forward; ``K∇ = H∇ ⊙ σ'(K)`` and
  ``b ← b − α Σₙ K∇`` in the backward; and the output layer's activation, loss, ``Z∇`` and
  bias update in one. numpy would make a temporary array per operator;
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
from ..functions import BCE, CE, HINGE, RELU, SIGMOID, SOFTMAX, SQUARED, TANH
from . import vectorized

#: layers of at least this many elements (batch × units) take exp/tanh from numpy
SIMD_MIN = 256

# -- the element-wise passes -----------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def hidden_forward(code, K, b, H, D):
    """One pass over a hidden layer: ``k = K + b``, ``H = σ(k)``, ``D = σ'(k)`` (the sigmoid's
    ``h (1 − h)``, tanh's ``1 − h²``, relu's ``k > 0``)."""
    for n in range(K.shape[0]):
        for j in range(K.shape[1]):
            k = K[n, j] + b[j]
            if code == SIGMOID:
                # e^-|k| cannot overflow; σ(k) = 1/(1+e^-k) or e^k/(1+e^k) by the sign of k
                e = math.exp(-abs(k))
                h = (1.0 if k >= 0.0 else e) / (1.0 + e)
                d = h * (1.0 - h)
            elif code == TANH:
                h = math.tanh(k)
                d = 1.0 - h * h
            elif code == RELU:
                h = k if k > 0.0 else 0.0
                d = 1.0 if k > 0.0 else 0.0
            else:
                h = k
                d = 1.0
            H[n, j] = h
            D[n, j] = d


@njit(cache=True, error_model="numpy")
def hidden_finish(code, K, H, D):
    """The rest of :func:`hidden_forward` once numpy's SIMD ufuncs have put ``e^-|k|``
    (sigmoid) or ``tanh(k)`` into ``H`` (``K`` holds ``k = K + b``): ``H = σ(k)``, ``D = σ'(k)``."""
    for n in range(K.shape[0]):
        for j in range(K.shape[1]):
            if code == SIGMOID:
                e = H[n, j]
                h = (1.0 if K[n, j] >= 0.0 else e) / (1.0 + e)
            else:
                h = H[n, j]
            H[n, j] = h
            D[n, j] = h * (1.0 - h) if code == SIGMOID else 1.0 - h * h


def activate(code: int, K: np.ndarray, b: np.ndarray, H: np.ndarray, D: np.ndarray) -> None:
    """``H = σ(K + b)`` and ``D = σ'(K + b)``. Numba has no vector ``exp`` or ``tanh`` here
    (each element is a libm call, ~4 ns); numpy's are SIMD (~0.6 ns): a large layer takes the
    transcendental from numpy and finishes in one pass, a small one is all one pass (each
    numpy call costs ~0.4 µs)."""
    if code in (SIGMOID, TANH) and K.size >= SIMD_MIN:
        np.add(K, b, out=K)
        if code == SIGMOID:
            np.abs(K, out=H)
            np.negative(H, out=H)
            np.exp(H, out=H)
        else:
            np.tanh(K, out=H)
        hidden_finish(code, K, H, D)
    else:
        hidden_forward(code, K, b, H, D)


@njit(cache=True, error_model="numpy")
def hidden_backward(H_grad, D, K_grad, b, lr, col):
    """One pass: ``K∇ = H∇ ⊙ σ'(K)``, then ``b ← b − α Σₙ K∇`` (the sum in ``col``)."""
    m = K_grad.shape[1]
    for j in range(m):
        col[j] = 0.0
    for n in range(K_grad.shape[0]):
        for j in range(m):
            g = H_grad[n, j] * D[n, j]
            K_grad[n, j] = g
            col[j] += g
    for j in range(m):
        b[j] -= lr * col[j]


@njit(cache=True, error_model="numpy")
def output_step(output, loss, Z, c, T, rows, Z_grad, lr, col):
    """The output layer in one pass per example: ``z = Z + c``, ``y = act(z)``, the loss, and
    ``Z∇ = dl/dz`` (``y − t`` for bce and ce, from the logits); then ``c ← c − α Σₙ Z∇``.
    ``T[rows[n]]`` is example ``n``'s target; ``col`` takes ``Σₙ Z∇``. Returns the batch's
    summed loss."""
    m = Z.shape[1]
    for j in range(m):
        col[j] = 0.0
    total = 0.0
    for n in range(Z.shape[0]):
        t = T[rows[n]]
        # z into Z, y into Z∇ (overwritten by the gradient below)
        zmax = -math.inf
        for j in range(m):
            z = Z[n, j] + c[j]
            Z[n, j] = z
            zmax = max(zmax, z)
        if output == SOFTMAX:
            s = 0.0
            for j in range(m):
                e = math.exp(Z[n, j] - zmax)
                Z_grad[n, j] = e
                s += e
            for j in range(m):
                Z_grad[n, j] /= s
            if loss == CE:
                total += zmax + math.log(s) - Z[n, int(t[0])]
        else:
            for j in range(m):
                z = Z[n, j]
                if output == SIGMOID:
                    e = math.exp(-abs(z))
                    Z_grad[n, j] = (1.0 if z >= 0.0 else e) / (1.0 + e)
                else:
                    Z_grad[n, j] = z
        if loss == CE:
            Z_grad[n, int(t[0])] -= 1.0
        elif loss == BCE:
            for j in range(m):
                z = Z[n, j]
                # softplus(z) − z t, stable for either sign of z
                total += max(z, 0.0) + math.log1p(math.exp(-abs(z))) - z * t[j]
                Z_grad[n, j] -= t[j]
        else:
            # y∇ = dl/dy into Z∇ beside y, then through the output activation
            s = 0.0
            for j in range(m):
                y = Z_grad[n, j]
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
                    Z_grad[n, j] = y_grad * y * (1.0 - y)
                elif output == SOFTMAX:
                    Z_grad[n, j] = y_grad           # the Jacobian needs s first
                else:
                    Z_grad[n, j] = y_grad
            if output == SOFTMAX:
                # z∇_j = y_j (y∇_j − Σᵢ y∇ᵢ yᵢ); y_j is e^(z_j − zmax) / Σ again
                norm = 0.0
                for j in range(m):
                    norm += math.exp(Z[n, j] - zmax)
                for j in range(m):
                    Z_grad[n, j] = math.exp(Z[n, j] - zmax) / norm * (Z_grad[n, j] - s)
        for j in range(m):
            col[j] += Z_grad[n, j]
    for j in range(m):
        c[j] -= lr * col[j]
    return total


# -- the epoch -------------------------------------------------------------------------------


class Workspace:
    """Every array one step needs, for a network and a largest batch ``B``, made once: for
    layer ``l`` its ``W`` and ``b`` (views into ``net.params``), ``K``, ``H``, ``σ'(K)``,
    ``K∇`` and ``H∇`` of ``B`` rows, and a gathered batch of ``X``."""

    def __init__(self, net: Any, B: int) -> None:
        L = net.num_layers
        self.hidden = int(net.spec[0])
        self.output = int(net.spec[1])
        self.loss = int(net.spec[2])
        self.W = [net.weights(l) for l in range(L)]
        self.b = [net.biases(l) for l in range(L)]
        widths = net.sizes[1:]
        self.K = [np.empty((B, n)) for n in widths]
        self.H = [np.empty((B, n)) for n in widths[:-1]]
        self.D = [np.empty((B, n)) for n in widths[:-1]]
        self.K_grad = [np.empty((B, n)) for n in widths]
        self.H_grad = [np.empty((B, n)) for n in widths[:-1]]
        self.X = np.empty((B, net.sizes[0]))
        self.col = np.empty(max(widths))       # a column sum for a bias update


def step(ws: Workspace, X: np.ndarray, T: np.ndarray, rows: np.ndarray, lr: float) -> float:
    """One step on the batch ``X`` (``m`` rows; ``T[rows]`` its targets), parameters updated
    in place. Returns the batch's loss (before the update)."""
    m = X.shape[0]
    L = len(ws.W)
    src = X
    for l in range(L - 1):                     # K = X Wᵀ, then b, σ and σ' in one pass
        K, H = ws.K[l][:m], ws.H[l][:m]
        np.matmul(src, ws.W[l].T, out=K)
        activate(ws.hidden, K, ws.b[l], H, ws.D[l][:m])
        src = H
    Z, Z_grad = ws.K[L - 1][:m], ws.K_grad[L - 1][:m]
    np.matmul(src, ws.W[L - 1].T, out=Z)
    loss = output_step(ws.output, ws.loss, Z, ws.b[L - 1], T, rows, Z_grad, lr, ws.col)
    K_grad = Z_grad
    for l in range(L - 1, -1, -1):
        src = X if l == 0 else ws.H[l - 1][:m]
        W = ws.W[l]
        if l > 0:
            H_grad = ws.H_grad[l - 1][:m]
            np.matmul(K_grad, W, out=H_grad)   # H∇ = K∇ W, from the old W
        # W ← W − α K∇ᵀ X as BLAS sees row-major arrays: Wᵀ ← Wᵀ − α Xᵀ K∇, into W itself
        dgemm(-lr, src.T, K_grad.T, 1.0, W.T, trans_b=1, overwrite_c=1)
        if l > 0:
            below = ws.K_grad[l - 1][:m]
            hidden_backward(H_grad, ws.D[l - 1][:m], below, ws.b[l - 1], lr, ws.col)
            K_grad = below
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
    ws = Workspace(net, B)
    # in-order data: every batch is a view of X; one example is always a view
    views = B == 1 or bool(np.array_equal(order, np.arange(n)))
    failed = False
    with np.errstate(all="ignore"):           # a diverging run is reported, not warned
        for s in range((n + B - 1) // B):
            rows = order[s * B:(s + 1) * B]
            if views:
                lo = int(rows[0])
                Xb = X[lo:lo + rows.shape[0]]
            else:
                Xb = np.take(X, rows, axis=0, out=ws.X[:rows.shape[0]])
            loss = step(ws, Xb, T, rows, lr)
            step_loss[s] = loss
            if not math.isfinite(loss):
                failed = True
                break
    if not failed and np.isfinite(net.params).all():
        return -1
    net.params[:] = start
    return vectorized.lecture_epoch(net, X, T, order, batch_size, lr, step_loss)
