"""Part 2 of the lecture: backpropagation one number at a time.

The kernels below are the lecture's forward and backward pseudocode (slides 54-55), loop for
loop, generalised to any depth and to every activation and loss in :mod:`functions`:

forward (one example)::

    for j in units:                  k[j] = sum_i W[j,i] * x[i] + b[j]
    for j in units:                  h[j] = act(k[j])
    ...layer after layer...          loss = loss(y, t)

backward (one example, walking from the loss down)::

    y' = dl/dy                       e.g. 2 (y - t) for the squared loss
    k' = y' * act'(k)                for the output layer (y - t for bce/ce, from the logits)
    for each layer, top down:
        for j, i:  W'[j,i] += k'[j] * x[i];   b'[j] += k'[j]   (x: the layer's input)
                   h'[i]   += k'[j] * W[j,i]                   (the layer below's h)
        k'[i] = h'[i] * act'(k[i])                              e.g. h[i] (1 - h[i])

They take only flat float64 arrays and integers (``spec`` packs the activation and loss codes
and the sizes, see :class:`~scalarprop.network.MLP`), allocate nothing per example, and loop
over the examples of a batch inside the kernel. No numpy vector operations: loops only. The
same source runs uncompiled (``kernel.py_func`` or ``NUMBA_DISABLE_JIT=1``). Every kernel
releases the GIL (``nogil=True``): threads training different networks run on different cores.

Node storage for one example is one flat row ``nodes`` of length ``4 U`` (``U`` = all units
above the input): ``k`` at ``[0, U)``, ``h`` at ``[U, 2U)``, ``k'`` at ``[2U, 3U)`` and ``h'``
at ``[3U, 4U)``, layer after layer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from .. import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ..functions import (
    ABSOLUTE,
    BCE,
    CE,
    HINGE,
    SOFTMAX,
    SQUARED,
    activate,
    activate_grad,
    exp_or_inf,
    log1pexp,
)
from ..validate import check_batch, finite_updates

name = "scalar"

# -- reading spec = [hidden code, output code, loss code, sizes[0], ..., sizes[L]] ---------


@njit(cache=True, nogil=True, error_model="numpy")
def num_layers(spec):
    """L: the layers with weights (every size but the input's)."""
    return spec.shape[0] - 4


@njit(cache=True, nogil=True, error_model="numpy")
def width(spec, l):
    """``sizes[l]``: the units of layer l (0 is the input, L the output)."""
    return spec[3 + l]


@njit(cache=True, nogil=True, error_model="numpy")
def num_units(spec):
    """U: the units of every layer above the input."""
    U = 0
    for l in range(1, num_layers(spec) + 1):
        U += width(spec, l)
    return U


def node_rows(sizes: tuple[int, ...], n: int | None = None) -> np.ndarray:
    """Zeroed node storage: ``n`` rows of ``4 U`` (an example's k, h, k' and h' for every unit
    above the input), or one row of shape ``(4 U,)`` for ``n=None``."""
    U = int(sum(sizes[1:]))
    return np.zeros(4 * U if n is None else (n, 4 * U))


# -- the kernels ---------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def activate_layer(code, nodes, k0, h0, n):
    """``h = act(k)`` for one layer: ``nodes[h0:h0+n]`` from ``nodes[k0:k0+n]``. The softmax
    is not element-wise; it subtracts the largest logit first, so e^k cannot overflow."""
    if code == SOFTMAX:
        m = nodes[k0]
        for j in range(1, n):
            m = max(m, nodes[k0 + j])
        s = 0.0
        for j in range(n):
            e = math.exp(nodes[k0 + j] - m)
            nodes[h0 + j] = e
            s += e
        for j in range(n):
            nodes[h0 + j] /= s
    else:
        for j in range(n):
            nodes[h0 + j] = activate(code, nodes[k0 + j])


@njit(cache=True, nogil=True, error_model="numpy")
def forward(params, spec, x, nodes):
    """Slide 54: fill ``k`` and ``h`` of every layer for one example ``x``."""
    hidden, output = spec[0], spec[1]
    L = num_layers(spec)
    U = num_units(spec)
    # np.int64(0), not the literal 0: a callee that sees a literal argument is compiled
    # twice, once for the literal and once for int64 (a cold-start cost, not a number)
    p = np.int64(0)          # where layer l's W starts in params
    u = np.int64(0)          # where layer l's units start in the node rows
    u_prev = np.int64(0)
    for l in range(L):
        n_in, n_out = width(spec, l), width(spec, l + 1)
        src = x if l == 0 else nodes[U + u_prev:U + u_prev + n_in]
        b = p + n_out * n_in
        for j in range(n_out):
            k = 0.0
            for i in range(n_in):
                k += params[p + j * n_in + i] * src[i]
            nodes[u + j] = k + params[b + j]
        activate_layer(output if l == L - 1 else hidden, nodes, u, U + u, n_out)
        p = b + n_out
        u_prev = u
        u += n_out


@njit(cache=True, nogil=True, error_model="numpy")
def loss_value(spec, nodes, t):
    """The loss of one example from its forward pass; bce and ce from the logits z = k."""
    loss_code = spec[2]
    L = num_layers(spec)
    U = num_units(spec)
    n_out = width(spec, L)
    u = U - n_out
    l = 0.0
    if loss_code == CE:
        m = nodes[u]
        for j in range(1, n_out):
            m = max(m, nodes[u + j])
        s = 0.0
        for j in range(n_out):
            s += math.exp(nodes[u + j] - m)
        return m + math.log(s) - nodes[u + int(t[0])]
    for j in range(n_out):
        y = nodes[U + u + j]
        if loss_code == SQUARED:
            l += (y - t[j]) ** 2
        elif loss_code == ABSOLUTE:
            l += abs(y - t[j])
        elif loss_code == BCE:
            z = nodes[u + j]
            l += log1pexp(z) - z * t[j]
        elif loss_code == HINGE:
            l += max(0.0, 1.0 - t[j] * y)
    return l


@njit(cache=True, nogil=True, error_model="numpy")
def output_grad(spec, nodes, t):
    """The top of the backward pass: ``y' = dl/dy`` into the output's ``h'`` and the output
    layer's ``k'`` (``y − t`` for bce and ce, taken from the logits)."""
    output, loss_code = spec[1], spec[2]
    L = num_layers(spec)
    U = num_units(spec)
    K, H, KG, HG = 0, U, 2 * U, 3 * U
    n_out = width(spec, L)
    u = U - n_out
    lse = 0.0
    if loss_code == CE:
        # log sum_i e^{k_i}, so that 1/y_j = e^{lse - k_j} stays finite where y_j underflows
        m = nodes[K + u]
        for j in range(1, n_out):
            m = max(m, nodes[K + u + j])
        s = 0.0
        for j in range(n_out):
            s += math.exp(nodes[K + u + j] - m)
        lse = m + math.log(s)
    for j in range(n_out):
        y = nodes[H + u + j]
        if loss_code == SQUARED:
            nodes[HG + u + j] = 2.0 * (y - t[j])
        elif loss_code == ABSOLUTE:
            d = y - t[j]
            nodes[HG + u + j] = 1.0 if d > 0.0 else (-1.0 if d < 0.0 else 0.0)
        elif loss_code == BCE:
            # -1/y and 1/(1-y) written in the logit k: finite where y rounds to 0 or 1
            k = nodes[K + u + j]
            nodes[HG + u + j] = -(1.0 + exp_or_inf(-k)) if t[j] == 1.0 else 1.0 + exp_or_inf(k)
        elif loss_code == CE:
            nodes[HG + u + j] = -exp_or_inf(lse - nodes[K + u + j]) if j == int(t[0]) else 0.0
        else:  # hinge
            nodes[HG + u + j] = -t[j] if 1.0 - t[j] * y > 0.0 else 0.0
    if loss_code == BCE:
        # dl/dz = sigmoid(z) - t: no division by a saturated y
        for j in range(n_out):
            nodes[KG + u + j] = nodes[H + u + j] - t[j]
    elif loss_code == CE:
        for j in range(n_out):
            nodes[KG + u + j] = nodes[H + u + j] - (1.0 if j == int(t[0]) else 0.0)
    elif output == SOFTMAX:
        # the softmax is not element-wise: k'_j = y_j (y'_j - sum_i y'_i y_i)
        s = 0.0
        for j in range(n_out):
            s += nodes[HG + u + j] * nodes[H + u + j]
        for j in range(n_out):
            nodes[KG + u + j] = nodes[H + u + j] * (nodes[HG + u + j] - s)
    else:
        for j in range(n_out):
            nodes[KG + u + j] = nodes[HG + u + j] * activate_grad(
                output, nodes[K + u + j], nodes[H + u + j])


@njit(cache=True, nogil=True, error_model="numpy")
def backward(params, spec, x, t, nodes, grad):
    """Slide 55: walk from the loss down, filling ``k'`` and ``h'`` of every node and
    accumulating every parameter's gradient into ``grad`` (``+=``, so a batch sums)."""
    hidden = spec[0]
    L = num_layers(spec)
    U = num_units(spec)
    K, H, KG, HG = 0, U, 2 * U, 3 * U
    u = U - width(spec, L)
    output_grad(spec, nodes, t)
    # walk down the layers
    p_end = params.shape[0]
    for l in range(L - 1, -1, -1):
        n_in, n_out = width(spec, l), width(spec, l + 1)
        b = p_end - n_out
        w = b - n_out * n_in
        u_in = u - n_in
        src = x if l == 0 else nodes[H + u_in:H + u_in + n_in]
        if l > 0:
            for i in range(n_in):
                nodes[HG + u_in + i] = 0.0
        for j in range(n_out):
            g = nodes[KG + u + j]
            grad[b + j] += g
            for i in range(n_in):
                grad[w + j * n_in + i] += g * src[i]
            if l > 0:
                for i in range(n_in):
                    nodes[HG + u_in + i] += g * params[w + j * n_in + i]
        if l > 0:
            for i in range(n_in):
                nodes[KG + u_in + i] = nodes[HG + u_in + i] * activate_grad(
                    hidden, nodes[K + u_in + i], nodes[H + u_in + i])
        p_end = w
        u = u_in


@njit(cache=True, nogil=True, error_model="numpy")
def loss_and_grad_kernel(params, spec, X, T, nodes, grad):
    """The batch: for each example, forward, loss, backward. ``grad`` is zeroed and then
    summed over the batch (the lecture's convention: a batch's loss is the sum). ``nodes``
    has one row per example (every node kept) or a single row reused for all."""
    for q in range(grad.shape[0]):
        grad[q] = 0.0
    total = 0.0
    for n in range(X.shape[0]):
        row = nodes[n] if nodes.shape[0] > 1 else nodes[0]
        forward(params, spec, X[n], row)
        total += loss_value(spec, row, T[n])
        backward(params, spec, X[n], T[n], row, grad)
    return total


# -- the Python boundary -------------------------------------------------------------------


def loss_and_grad(net: Any, X: Any, T: Any) -> tuple[float, np.ndarray]:
    """The batch's summed loss and its gradient in the layout of ``net.params``."""
    Xc, Tc = check_batch(net, X, T)
    grad = np.empty(net.num_params)
    loss = loss_and_grad_kernel(net.params, net.spec, Xc, Tc, node_rows(net.sizes, 1), grad)
    return float(loss), grad


def nodes(net: Any, X: Any, T: Any) -> dict[str, Any]:
    """Every node's value and gradient for every example (see :func:`split_nodes`), with
    ``"loss"`` and ``"grad"``."""
    Xc, Tc = check_batch(net, X, T)
    rows = node_rows(net.sizes, Xc.shape[0])
    grad = np.empty(net.num_params)
    loss = loss_and_grad_kernel(net.params, net.spec, Xc, Tc, rows, grad)
    out = split_nodes(net.sizes, rows)
    out["loss"] = float(loss)
    out["grad"] = grad
    return out


def split_nodes(sizes: tuple[int, ...], rows: np.ndarray) -> dict[str, np.ndarray]:
    """Name the columns of the node rows: layer l's ``k{l}``, ``h{l}``, ``k{l}_grad``,
    ``h{l}_grad`` (l = 1..L; the output's ``h{L}`` is the network output y)."""
    U = int(sum(sizes[1:]))
    out: dict[str, np.ndarray] = {}
    u = 0
    for l, n in enumerate(sizes[1:], start=1):
        for name, base in (("k", 0), ("h", U), ("k_grad", 2 * U), ("h_grad", 3 * U)):
            key = f"{name[0]}{l}{name[1:]}"
            out[key] = rows[:, base + u:base + u + n].copy()
        u += n
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def loss_kernel(params, spec, X, T, nodes):
    """The batch's summed loss alone: forward passes, no backward (for finite differences)."""
    total = 0.0
    for n in range(X.shape[0]):
        forward(params, spec, X[n], nodes)
        total += loss_value(spec, nodes, T[n])
    return total


def loss(net: Any, X: Any, T: Any) -> float:
    """The batch's summed loss."""
    Xc, Tc = check_batch(net, X, T)
    return float(loss_kernel(net.params, net.spec, Xc, Tc, node_rows(net.sizes)))


@njit(cache=True, nogil=True, error_model="numpy")
def train_epoch_kernel(params, spec, X, T, order, batch_size, lr, nodes, grad, step_loss):
    """One epoch of gradient descent (slide 18) inside one compiled call.

    For each step: the summed loss and gradient of the examples ``order[s*B:(s+1)*B]``, then
    ``θ ← θ − α ∇θ``. Returns -1, or the first step whose loss or gradient is not finite; that
    step's update is not applied, so ``params`` hold the values from before it.
    """
    n = order.shape[0]
    steps = (n + batch_size - 1) // batch_size
    P = params.shape[0]
    for s in range(steps):
        for q in range(P):
            grad[q] = 0.0
        total = 0.0
        for r in range(s * batch_size, min(n, (s + 1) * batch_size)):
            e = order[r]
            forward(params, spec, X[e], nodes)
            total += loss_value(spec, nodes, T[e])
            backward(params, spec, X[e], T[e], nodes, grad)
        step_loss[s] = total
        finite = math.isfinite(total)
        for q in range(P):
            finite = finite and math.isfinite(grad[q])
        if not finite:
            return s
        for q in range(P):
            params[q] -= lr * grad[q]
    return -1


def lecture_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
                  lr: float, step_loss: np.ndarray) -> int:
    """:func:`train_epoch_kernel` on checked arrays: the lecture's loops, any batch size."""
    return int(train_epoch_kernel(net.params, net.spec, X, T, order, batch_size, lr,
                                  node_rows(net.sizes), np.empty(net.num_params), step_loss))


@finite_updates
def train_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
                lr: float, step_loss: np.ndarray) -> int:
    """One epoch of gradient descent on checked arrays (the :class:`~scalarprop.engines.Engine`
    contract). Per-example SGD takes the fused kernel of :mod:`scalar_fast` (the same numbers
    to rounding, about twice as fast); minibatches take :func:`lecture_epoch`."""
    if batch_size == 1:
        # scalar_fast is built on this module's kernels: it can be imported only once they
        # exist, so not at the top of this module
        from . import scalar_fast

        return scalar_fast.sgd_epoch(net, X, T, order, lr, step_loss)
    return lecture_epoch(net, X, T, order, batch_size, lr, step_loss)
