"""The scalar engine, made fast: the same loops, arranged for the memory system.

:mod:`scalarprop.scalar` is the lecture's pseudocode loop for loop; this module computes the
same per-example SGD (``θ ← θ − α ∇θ l(x, t)``), each weight matrix streamed through the
cache as few times as possible. The tricks, each measured on a 2-core x86 machine:

* each layer's backward is fused with its update: ``h'[i] += k'[j] W[j,i]`` reads the OLD
  ``W[j,i]``, then ``W[j,i] −= α k'[j] x[i]`` writes the new one in the same sweep;
* the first layer's update for example ``n`` is fused with the forward of example ``n + 1``:
  ``W`` is read and written once per example, not read twice and written once (~1.3×);
* two rows of ``W`` per inner loop share the loads of ``x`` and ``h'`` (~1.25×);
* ``fastmath={'reassoc', 'contract'}`` on the row loops lets LLVM vectorize the sums
  (strict IEEE order cannot: 2–8× slower); not ``fastmath=True``, which would also assume no
  NaN and turn the ``isfinite`` checks into constants. Only the row loops: a fastmath kernel
  compiles the functions it calls fastmath too, and the lecture kernel's must stay strict;
* long rows loop over ``range(len(row))`` of a slice (a computed ``range(start, stop)``
  stopped vectorizing: 3× slower); short rows (under ``LONG_ROW`` inputs) are indexed;
* no reference counting per example: each array view, and each array passed to a function
  whose counts Numba's pruner keeps, is an atomic increment and decrement (~10 ns a pair on
  an AVX-512 Xeon VM; 40% of a 2-3-1 epoch in ``perf``). So the per-example path passes
  offsets into ``nodes``, indexes ``X[e, i]``, takes ``T[e]`` once, makes row slices inside
  the row-pair loops (where the pruner drops them) and writes the layer loop of the backward
  pass out in the epoch kernel. Per example, side by side: 2-3-1 318 → 180 ns (no views)
  → 137 ns (the loop written out); 2-16-1 447 → 340 → 298 ns; 64-64-10 1,993 → 1,912 ns;
* an identity output with the squared loss (the lecture's 2-3-1) takes its loss, ``y'``
  and ``k'`` from one leaf that reads ``T[e, j]`` in place: the lecture's ``loss_value`` and
  ``output_grad`` keep their arguments' counts (each argument's last use differs between
  their branches, which the pruner cannot clean): 2-3-1 136 → 76 ns, 2-16-1 245 → 184 ns;
* a sigmoid hidden layer of ``SIMD_SIGMOID`` units or more is one loop of
  :func:`~scalarprop.functions.sigmoid_simd` (arithmetic LLVM vectorizes), not a libm
  ``exp`` per unit: 2-16-1 270 → 221 ns, 64-64-10 1,787 → 1,390 ns; in the blocked kernel
  (784-128-10, blocks of 64) 2.79 → 1.85 µs per example, the epoch 13.1 → 11.0 µs;
* ``W`` starts on a 64-byte boundary (the network's buffer is allocated so). ``X`` is used
  as given: an aligned ``X`` gained 1-3% on 784-128-10 and 64-32-10, less than a copy of
  ``X`` per epoch costs (~10% of a 784-128-10 epoch);
* a wide first layer (784-128-10) delays its update over a block of examples
  (:func:`sgd_epoch_blocked`): exact per-example SGD whose first-layer work becomes three
  matrix products per block, not two sweeps of ``W₀`` per example.

The results equal the lecture kernel's up to the order of floating-point additions (tested to
1e-12 after an epoch). The parallel minibatch gradient is :mod:`scalar_parallel`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from scipy.linalg.blas import dgemm

from .. import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ..functions import IDENTITY, SIGMOID, SQUARED, activate_grad, sigmoid_simd
from ..memory import BLOCK, BLOCKED_MIN_WEIGHTS  # first layers this wide take the blocked epoch
from .scalar import (
    activate_layer,
    lecture_epoch,
    loss_value,
    node_rows,
    num_layers,
    num_units,
    output_grad,
    width,
)

FAST = {"reassoc", "contract"}
#: rows at least this long are looped over as slices (SIMD); shorter ones by index
LONG_ROW = 16
#: sigmoid hidden layers with this many units or more take :func:`_sigmoid_layer`
SIMD_SIGMOID = 8


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FAST)
def _dot_rows(params, w, b, n_in, n_out, nodes, src, k):
    """k[j] = W[j]·src + b[j] for every row, two rows at a time (shared loads of src); src
    and k are offsets into ``nodes``."""
    j = 0
    if n_in >= LONG_ROW:
        while j + 1 < n_out:
            x = nodes[src:src + n_in]
            w0 = params[w + j * n_in:w + (j + 1) * n_in]
            w1 = params[w + (j + 1) * n_in:w + (j + 2) * n_in]
            a0 = 0.0
            a1 = 0.0
            for i in range(len(w0)):
                a0 += w0[i] * x[i]
                a1 += w1[i] * x[i]
            nodes[k + j] = a0 + params[b + j]
            nodes[k + j + 1] = a1 + params[b + j + 1]
            j += 2
    while j < n_out:
        r = w + j * n_in
        a0 = 0.0
        for i in range(n_in):
            a0 += params[r + i] * nodes[src + i]
        nodes[k + j] = a0 + params[b + j]
        j += 1


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FAST)
def _backward_update(params, w, b, n_in, n_out, nodes, src, kg, hg, lr):
    """One layer's backward fused with its update: hg += Wᵀ kg with the OLD W, then
    W −= lr kg srcᵀ and b −= lr kg, in one sweep over W (two rows at a time); src, kg and hg
    are offsets into ``nodes``."""
    for i in range(n_in):
        nodes[hg + i] = 0.0
    j = 0
    if n_in >= LONG_ROW:
        while j + 1 < n_out:
            x = nodes[src:src + n_in]
            g = nodes[hg:hg + n_in]
            w0 = params[w + j * n_in:w + (j + 1) * n_in]
            w1 = params[w + (j + 1) * n_in:w + (j + 2) * n_in]
            g0 = nodes[kg + j]
            g1 = nodes[kg + j + 1]
            a0 = lr * g0
            a1 = lr * g1
            for i in range(len(w0)):
                g[i] += g0 * w0[i] + g1 * w1[i]
                w0[i] -= a0 * x[i]
                w1[i] -= a1 * x[i]
            params[b + j] -= a0
            params[b + j + 1] -= a1
            j += 2
    while j < n_out:
        r = w + j * n_in
        g0 = nodes[kg + j]
        a0 = lr * g0
        for i in range(n_in):
            nodes[hg + i] += g0 * params[r + i]
            params[r + i] -= a0 * nodes[src + i]
        params[b + j] -= a0
        j += 1


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FAST)
def _update_then_dot(params, b, n_in, n_out, X, e, e_next, nodes, kg, lr):
    """The first layer's update for example ``e`` fused with the forward of ``e_next``:
    W[j,i] −= lr kg[j] x[i], then k_next[j] += W[j,i] x_next[i] with the NEW W[j,i]
    (``kg`` is an offset into ``nodes``; k_next goes to the start of ``nodes``)."""
    j = 0
    if n_in >= LONG_ROW:
        while j + 1 < n_out:
            x = X[e]
            x_next = X[e_next]
            w0 = params[j * n_in:(j + 1) * n_in]
            w1 = params[(j + 1) * n_in:(j + 2) * n_in]
            a0 = lr * nodes[kg + j]
            a1 = lr * nodes[kg + j + 1]
            s0 = 0.0
            s1 = 0.0
            for i in range(len(w0)):
                v0 = w0[i] - a0 * x[i]
                v1 = w1[i] - a1 * x[i]
                w0[i] = v0
                w1[i] = v1
                s0 += v0 * x_next[i]
                s1 += v1 * x_next[i]
            params[b + j] -= a0
            params[b + j + 1] -= a1
            nodes[j] = s0
            nodes[j + 1] = s1
            j += 2
    while j < n_out:
        r = j * n_in
        a0 = lr * nodes[kg + j]
        s0 = 0.0
        for i in range(n_in):
            v0 = params[r + i] - a0 * X[e, i]
            params[r + i] = v0
            s0 += v0 * X[e_next, i]
        params[b + j] -= a0
        nodes[j] = s0
        j += 1


@njit(cache=True, nogil=True, error_model="numpy")
def _sigmoid_layer(nodes, k, h, n):
    """h = σ(k) for a layer of n units (offsets into ``nodes``) with
    :func:`~scalarprop.functions.sigmoid_simd`: a loop LLVM vectorizes, no libm call."""
    kl = nodes[k:k + n]
    hl = nodes[h:h + n]
    for j in range(n):
        hl[j] = sigmoid_simd(kl[j])


@njit(cache=True, nogil=True, error_model="numpy")
def _squared_top(nodes, U, u, n_out, T, e):
    """Identity output, squared loss: the loss, ``y' = 2 (y − t)`` and ``k' = y'`` in one
    pass, the operations of the lecture's ``loss_value`` and ``output_grad``, ``t = T[e]``."""
    l = 0.0
    for j in range(n_out):
        d = nodes[U + u + j] - T[e, j]
        l += d ** 2
        nodes[3 * U + u + j] = 2.0 * d
        nodes[2 * U + u + j] = 2.0 * d
    return l


# strict IEEE from here on: these kernels call the lecture kernel's own functions
@njit(cache=True, nogil=True, error_model="numpy")
def _backward_update_upper(params, spec, nodes, lr):
    """The backward pass fused with the update, from the top layer down to layer 1 (layer 0's
    update is left to the caller, which fuses it with the next example's forward): each
    layer's ``h'`` below is summed from the weights before their update."""
    L, U, P = num_layers(spec), num_units(spec), params.shape[0]
    hidden = spec[0]
    K, H, KG, HG = 0, U, 2 * U, 3 * U
    p_end = P
    u = U
    for l in range(L - 1, 0, -1):
        n_in, n_out = width(spec, l), width(spec, l + 1)
        b = p_end - n_out
        w = b - n_out * n_in
        u_in = u - n_out - n_in
        _backward_update(params, w, b, n_in, n_out, nodes, H + u_in, KG + u - n_out,
                         HG + u_in, lr)
        for i in range(n_in):
            nodes[KG + u_in + i] = nodes[HG + u_in + i] * activate_grad(
                hidden, nodes[K + u_in + i], nodes[H + u_in + i])
        p_end = w
        u -= n_out


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_epoch_fused(params, spec, X, T, order, lr, nodes, step_loss):
    """One epoch of per-example SGD, fused (see the module docstring). Returns -1, or the
    first step whose loss is not finite (or -2 if a parameter became non-finite): the caller
    then replays the epoch with the lecture kernel, which stops before the failing step."""
    hidden, output = spec[0], spec[1]
    L = num_layers(spec)
    U = num_units(spec)
    n = order.shape[0]
    P = params.shape[0]
    n0, n1 = width(spec, 0), width(spec, 1)
    H, KG, HG = U, 2 * U, 3 * U            # where h, k' and h' start in the node row
    # the first example's first-layer k without the bias (later ones come out of the fused
    # update); the loop below adds the bias
    e0 = order[0]
    for j in range(n1):
        a = 0.0
        for i in range(n0):
            a += params[j * n0 + i] * X[e0, i]
        nodes[j] = a
    for s in range(n):
        e = order[s]
        # forward: layer 0's k without bias is already there
        # offsets start as np.int64(0), not the literal 0: a call that sees a literal
        # argument is compiled once for it and again for int64 (measured: +0.35 s cold)
        p = np.int64(0)
        u = np.int64(0)
        for l in range(L):
            n_in, n_out = width(spec, l), width(spec, l + 1)
            b = p + n_out * n_in
            if l == 0:
                for j in range(n_out):
                    nodes[j] += params[b + j]
            else:
                _dot_rows(params, p, b, n_in, n_out, nodes, H + u - n_in, u)
            if l < L - 1 and hidden == SIGMOID and n_out >= SIMD_SIGMOID:
                _sigmoid_layer(nodes, u, H + u, n_out)
            else:
                activate_layer(output if l == L - 1 else hidden, nodes, u, H + u, n_out)
            p = b + n_out
            u += n_out
        if output == IDENTITY and spec[2] == SQUARED:
            step_loss[s] = _squared_top(nodes, U, u - width(spec, L), width(spec, L), T, e)
        else:
            t = T[e]
            step_loss[s] = loss_value(spec, nodes, t)
            output_grad(spec, nodes, t)
        if not math.isfinite(step_loss[s]):
            return s
        # _backward_update_upper written out: a call that passes arrays costs their counts
        p_end = P
        for l in range(L - 1, 0, -1):
            n_in, n_out = width(spec, l), width(spec, l + 1)
            b = p_end - n_out
            w = b - n_out * n_in
            u_in = u - n_out - n_in
            _backward_update(params, w, b, n_in, n_out, nodes, H + u_in, KG + u - n_out,
                             HG + u_in, lr)
            for i in range(n_in):
                nodes[KG + u_in + i] = nodes[HG + u_in + i] * activate_grad(
                    hidden, nodes[u_in + i], nodes[H + u_in + i])
            p_end = w
            u -= n_out
        # layer 0: this example's update fused with the next example's forward
        e_next = order[s + 1] if s + 1 < n else e
        _update_then_dot(params, n0 * n1, n0, n1, X, e, e_next, nodes, KG, lr)
    for q in range(P):
        if not math.isfinite(params[q]):
            return -2
    return -1


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_block_kernel(params, spec, T, rows, lr, K0, G, KG0, nodes, step_loss, s0):
    """Per-example SGD over the examples ``rows`` of one block, one after another, with the
    first layer's ``W₀`` left as it was at the block's start (see :func:`sgd_epoch_blocked`):
    example ``i`` has ``W₀x + b = K0[:, i] − α Σ_{q<i} G[i, q] k'₀[q] + b``, which is what the
    updated ``W₀`` would give. Its ``k'₀`` goes to ``KG0[i]``; the other layers and ``b₀``
    are updated as in :func:`sgd_epoch_fused`. Returns -1, or the epoch's index of the first
    step whose loss is not finite (``step_loss[s0 + i]``)."""
    hidden, output = spec[0], spec[1]
    L = num_layers(spec)
    U = num_units(spec)
    n0, n1 = width(spec, 0), width(spec, 1)
    k, kg = nodes[0:U], nodes[2 * U:3 * U]
    for i in range(rows.shape[0]):
        t = T[rows[i]]
        for j in range(n1):
            k[j] = K0[j, i] + params[n0 * n1 + j]
        for q in range(i):                    # the block's earlier updates of W₀, applied to x
            a = lr * G[i, q]
            for j in range(n1):
                k[j] -= a * KG0[q, j]
        p = np.int64(0)
        u = np.int64(0)
        for l in range(L):
            n_in, n_out = width(spec, l), width(spec, l + 1)
            b = p + n_out * n_in
            if l > 0:
                _dot_rows(params, p, b, n_in, n_out, nodes, U + u - n_in, u)
            if l < L - 1 and hidden == SIGMOID and n_out >= SIMD_SIGMOID:
                _sigmoid_layer(nodes, u, U + u, n_out)
            else:
                activate_layer(output if l == L - 1 else hidden, nodes, u, U + u, n_out)
            p = b + n_out
            u += n_out
        step_loss[s0 + i] = loss_value(spec, nodes, t)
        if not math.isfinite(step_loss[s0 + i]):
            return s0 + i
        output_grad(spec, nodes, t)
        _backward_update_upper(params, spec, nodes, lr)
        for j in range(n1):                   # k'₀ for the block's W₀ update; b₀ now
            KG0[i, j] = kg[j]
            params[n0 * n1 + j] -= lr * kg[j]
    return -1


# -- the Python boundary -------------------------------------------------------------------


def sgd_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, lr: float,
              step_loss: np.ndarray) -> int:
    """Per-example SGD for one epoch on checked arrays: :func:`sgd_epoch_blocked` where the
    first layer has at least :data:`BLOCKED_MIN_WEIGHTS` weights, else the fused kernel. Same
    contract as :func:`scalarprop.scalar.lecture_epoch` with ``batch_size=1``: returns -1, or
    the failing step with ``net.params`` as they were before it. Both have already updated
    the first layer when they find a step's loss not finite, so on failure the epoch is
    replayed from its start with the lecture kernel, which stops exactly before it."""
    if net.sizes[0] * net.sizes[1] >= BLOCKED_MIN_WEIGHTS:
        return sgd_epoch_blocked(net, X, T, order, lr, step_loss)
    start = net.params.copy()
    nodes = node_rows(net.sizes)
    status = int(sgd_epoch_fused(net.params, net.spec, X, T, order, lr, nodes, step_loss))
    if status == -1:
        return -1
    net.params[:] = start
    return lecture_epoch(net, X, T, order, 1, lr, step_loss)


def sgd_epoch_blocked(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, lr: float,
                      step_loss: np.ndarray, block: int = BLOCK) -> int:
    """Per-example SGD with the first layer's update delayed over blocks of examples: the
    same steps as the lecture kernel (to rounding), with the first layer's work as matrix
    products. The first layer's inputs are the data, known ahead, so for a block ``X``::

        K0 = W₀ Xᵀ,  G = X Xᵀ                       (BLAS, W₀ as at the block's start)
        example i:  W₀⁽ⁱ⁾ x_i = K0[:, i] − α Σ_{q<i} G[i, q] k'₀[q]     (the loops)
        after:      W₀ ← W₀ − α Σ_i k'₀[i] x_iᵀ = W₀ − α KG0ᵀ X   (one dgemm into W₀)

    ``W₀`` is swept three times per block instead of twice per example. Same contract as
    :func:`sgd_epoch`."""
    n, (n0, n1) = order.shape[0], net.sizes[:2]
    start = net.params.copy()
    W0 = net.weights(0)
    nodes = node_rows(net.sizes)
    buffers: dict[int, tuple[np.ndarray, ...]] = {}
    in_order = bool(np.array_equal(order, np.arange(n)))     # then blocks are views of X
    for s0 in range(0, n, block):
        rows = order[s0:s0 + block]
        m = rows.shape[0]
        if m not in buffers:                  # the full block, and a short last one
            buffers[m] = (np.empty((m, n0)), np.empty((n1, m)), np.empty((m, m)),
                          np.empty((m, n1)))
        Xb, K0, G, KG0 = buffers[m]
        if in_order:
            Xb = X[s0:s0 + m]
        else:
            np.take(X, rows, axis=0, out=Xb)
        np.matmul(W0, Xb.T, out=K0)
        np.matmul(Xb, Xb.T, out=G)
        status = sgd_block_kernel(net.params, net.spec, T, rows, lr, K0, G, KG0, nodes,
                                  step_loss, s0)
        if status >= 0:
            break
        # W₀ ← W₀ − α KG0ᵀ X as BLAS (column-major) sees it: W₀ᵀ ← W₀ᵀ − α Xᵀ KG0
        dgemm(-lr, Xb.T, KG0.T, 1.0, W0.T, trans_b=1, overwrite_c=1)
    else:
        if np.isfinite(net.params).all():
            return -1
    net.params[:] = start
    return lecture_epoch(net, X, T, order, 1, lr, step_loss)
