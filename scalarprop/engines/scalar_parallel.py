"""A minibatch's gradient on several cores: the lecture kernels over chunks of examples.

The batch's gradient is a sum over its examples (slide 18), so chunks of examples can be summed
at the same time: ``prange`` runs chunk ``c`` on a thread of its own, which sums its examples
into its own row ``grads[c]`` (no two threads write the same memory); the rows are added
after. Each example is the lecture's :func:`~scalarprop.scalar.forward` and
:func:`~scalarprop.scalar.backward`, so the result equals :func:`scalarprop.scalar.loss_and_grad`
up to the grouping of the sum (tested to 1e-12).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import njit, prange

from .. import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ..validate import check_batch
from .scalar import backward, forward, loss_value, node_rows


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def loss_and_grad_parallel_kernel(params, spec, X, T, nodes, grads, losses):
    """The batch's gradient with ``prange`` over ``C = grads.shape[0]`` chunks of examples;
    chunk c sums its examples into its own row ``grads[c]`` (no two threads write the same
    memory), then the rows are added. Each example uses the lecture kernels."""
    C = grads.shape[0]
    N = X.shape[0]
    P = params.shape[0]
    for c in prange(C):
        for q in range(P):
            grads[c, q] = 0.0
        total = 0.0
        for e in range(c * N // C, (c + 1) * N // C):
            forward(params, spec, X[e], nodes[c])
            total += loss_value(spec, nodes[c], T[e])
            backward(params, spec, X[e], T[e], nodes[c], grads[c])
        losses[c] = total
    grad = np.zeros(P)
    for c in range(C):
        for q in range(P):
            grad[q] += grads[c, q]
    return grad


# -- the Python boundary -------------------------------------------------------------------


def loss_and_grad_parallel(net: Any, X: Any, T: Any, chunks: int | None = None
                           ) -> tuple[float, np.ndarray]:
    """Like :func:`scalarprop.scalar.loss_and_grad`, over ``chunks`` (default: Numba's
    thread count) chunks of the batch in parallel."""
    Xc, Tc = check_batch(net, X, T)
    C = numba.get_num_threads() if chunks is None else int(chunks)
    if C < 1:
        raise ValueError(f"chunks={chunks!r}: expected a positive integer")
    C = min(C, Xc.shape[0])
    grads = np.empty((C, net.num_params))
    losses = np.empty(C)
    grad = loss_and_grad_parallel_kernel(net.params, net.spec, Xc, Tc, node_rows(net.sizes, C),
                                         grads, losses)
    return float(losses.sum()), grad
