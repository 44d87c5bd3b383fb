"""The layer's linear map as one op, ``K = X Wᵀ + b`` (slides 68-79, examples as rows).

The same numbers as ``X @ W.T + b`` built from matmul, transpose and add, in one op with the
backward of lecture part 3: ``X∇ = K∇ W``, ``W∇ = K∇ᵀ X``, ``b∇ = Σₙ K∇`` (like PyTorch's
``linear``). One op instead of three keeps the graph small, and it computes ``W∇`` and
``b∇`` straight into the parameters' ``grad_out`` buffers when they have them (a network's flat
gradient vector), with no intermediate copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import Op, TensorNode


class LinearMap(Op):
    """``K = X Wᵀ + b``: ``K_nj = Σ_i X_ni W_ji + b_j`` for a batch ``X`` (n, m), ``W`` (p, m),
    ``b`` (p,).

    1. ``W∇_ji = ∂l/∂W_ji``
    2. ``= Σ_ak K∇_ak ∂K_ak/∂W_ji``
    3. ``∂(Σ_c X_ac W_kc + b_k)/∂W_ji`` is ``X_ai`` when ``k = j``, else 0, so
       ``W∇_ji = Σ_a K∇_aj X_ai``; in the same way ``X∇_ni = Σ_j K∇_nj W_ji`` and
       ``b∇_j = Σ_a K∇_aj`` (``∂K_ak/∂b_j`` is 1 for ``k = j``).
    4. ``W∇ = K∇ᵀ X``, ``X∇ = K∇ W``, ``b∇ = Σₙ K∇`` (the sum over the batch's rows).
    """

    name = "linear"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, W: np.ndarray, b: np.ndarray
                ) -> np.ndarray:
        if x.ndim != 2 or W.ndim != 2 or b.shape != (W.shape[0],) or x.shape[1] != W.shape[1]:
            raise ValueError(f"linear: expected X (n, m), W (p, m), b (p,); got {x.shape}, "
                             f"{W.shape}, {b.shape}")
        context["x"], context["W"] = x, W
        k = x @ W.T
        k += b                          # in place: k is this op's own new array
        return k

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any, Any]:
        x, W = context["x"], context["W"]
        nx, nW, nb = context["needs_grad"]
        _, dW, db = context.get("grad_out") or (None, None, None)
        gx = g @ W if nx else None                                  # X∇ = K∇ W
        gW = (g.T @ x if dW is None else np.matmul(g.T, x, out=dW)) if nW else None
        gb = (g.sum(axis=0) if db is None else np.sum(g, axis=0, out=db)) if nb else None
        return gx, gW, gb


def linear(x: Any, W: Any, b: Any) -> TensorNode:
    """``x Wᵀ + b`` for a batch ``x`` of shape (n, m), ``W`` of (p, m) and ``b`` of (p,)."""
    return LinearMap.apply(x, W, b)
