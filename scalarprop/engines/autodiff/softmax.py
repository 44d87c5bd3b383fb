"""Softmax and log-softmax along an axis (lecture part 1's output layer and cross-entropy).

Both subtract the largest logit before exponentiating (the log-sum-exp trick), so logits of
±700 give no overflow, no NaN and no inf. The cross-entropy is taken from the logits:
``ce = -log_softmax(z)_t``, never ``-log(softmax(z)_t)`` (which is ``-log 0`` once the
softmax underflows).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import Op, TensorNode, value_of
from .reductions import normalize_axes


class Softmax(Op):
    """``Y_i = e^{X_i} / Σ_j e^{X_j}`` along ``axis`` (every other axis indexes rows).

    1. ``X∇_i = ∂l/∂X_i`` (within one row)
    2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``, summing over the row's outputs
    3. ``∂Y_a/∂X_i = Y_a (δ_ai - Y_i)`` (the quotient rule), so
       ``X∇_i = Y∇_i Y_i - Y_i Σ_a Y∇_a Y_a = Y_i (Y∇_i - Σ_a Y∇_a Y_a)``
    4. ``X∇ = Y ⊙ (Y∇ - Σ_row(Y∇ ⊙ Y))``: no n×n Jacobian is ever formed.
    """

    name = "softmax"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, *, axis: int = -1) -> np.ndarray:
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        context["y"], context["axis"] = y, axis
        return y

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        y, axis = context["y"], context["axis"]
        return y * (g - (g * y).sum(axis=axis, keepdims=True))


class LogSoftmax(Op):
    """``Y_i = X_i - ln Σ_j e^{X_j}`` along ``axis``, computed as
    ``(X_i - m) - ln Σ_j e^{X_j - m}`` with ``m`` the row's largest element.

    1. ``X∇_i = ∂l/∂X_i`` (within one row)
    2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂Y_a/∂X_i = δ_ai - e^{X_i}/Σ_j e^{X_j} = δ_ai - softmax(X)_i``, so
       ``X∇_i = Y∇_i - softmax(X)_i Σ_a Y∇_a``
    4. ``X∇ = Y∇ - softmax(X) ⊙ Σ_row Y∇``. For ``ce = -Y_t`` this is ``softmax(z) - onehot(t)``.
    """

    name = "log_softmax"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, *, axis: int = -1) -> np.ndarray:
        z = x - x.max(axis=axis, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=axis, keepdims=True)
        if context["needs_grad"][0]:        # only the backward needs the softmax
            context["softmax"], context["axis"] = e / s, axis
        return z - np.log(s)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray | None:
        if not context["needs_grad"][0]:
            return None
        return g - context["softmax"] * g.sum(axis=context["axis"], keepdims=True)


def _check_axis(x: Any, axis: int, name: str) -> None:
    # exactly one axis: None or a tuple goes in as a single (invalid) axis and is refused
    one = axis if isinstance(axis, (int, np.integer)) else (axis,)
    normalize_axes(one, value_of(x).ndim, name)


def softmax(x: Any, axis: int = -1) -> TensorNode:
    """The softmax along ``axis`` (the last by default), overflow-free."""
    _check_axis(x, axis, "softmax")
    return Softmax.apply(x, axis=int(axis))


def log_softmax(x: Any, axis: int = -1) -> TensorNode:
    """``log(softmax(x))`` along ``axis``, computed without forming the softmax's log."""
    _check_axis(x, axis, "log_softmax")
    return LogSoftmax.apply(x, axis=int(axis))
