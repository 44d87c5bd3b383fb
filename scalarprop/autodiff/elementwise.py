"""Element-wise functions ``Y = f(X)``: exp, log, sin, cos, sigmoid, tanh, relu, abs, softplus.

All share one derivation (the lecture's Sigmoid, slide 113), in four steps:

1. ``X∇_i = ∂l/∂X_i`` (``i`` a multi-index over any number of axes);
2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``, summing over *every* output element;
3. ``Y_a = f(X_a)`` depends on ``X_i`` only when ``a = i``: ``X∇_i = Y∇_i f'(X_i)``;
4. ``X∇ = Y∇ ⊙ f'(X)``.

So each op below only says what its local derivative ``f'`` is, and what the forward keeps
in the context to compute it cheaply (often the output itself, as the lecture's sigmoid does).

Numerical stability: sigmoid and softplus are written so that no exponential overflows
(``e^-|x|`` only), so arguments of ±700 give no NaN or inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import Op, TensorNode


class Exp(Op):
    """``Y = e^X``; ``f' = e^X = Y``, so ``X∇ = Y∇ ⊙ Y`` (the output is kept)."""

    name = "exp"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        y = np.exp(x)
        context["y"] = y
        return y

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * context["y"]


class Log(Op):
    """``Y = ln X``; ``f' = 1/X``, so ``X∇ = Y∇ / X``."""

    name = "log"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.log(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g / context["x"]


class Sin(Op):
    """``Y = sin X``; ``f' = cos X``, so ``X∇ = Y∇ ⊙ cos X``."""

    name = "sin"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.sin(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * np.cos(context["x"])


class Cos(Op):
    """``Y = cos X``; ``f' = -sin X``, so ``X∇ = -Y∇ ⊙ sin X``."""

    name = "cos"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.cos(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return -g * np.sin(context["x"])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) below: the exponent is never positive
    e = np.abs(x, out=np.empty(x.shape))
    np.negative(e, out=e)
    np.exp(e, out=e)                    # e^-|x|, in place: fewer temporaries
    s = np.where(x >= 0, 1.0, e)
    s /= 1.0 + e
    return s


class Sigmoid(Op):
    """``Y = σ(X) = 1/(1 + e^-X)`` (slide 113); ``σ' = σ(1 - σ)``, so
    ``X∇ = Y∇ ⊙ σ(X) ⊙ (1 - σ(X))``, from the output kept in the context."""

    name = "sigmoid"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        sigx = _sigmoid(x)
        context["sigx"] = sigx
        return sigx

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        sigx = context["sigx"]
        gx = g * sigx
        gx *= 1.0 - sigx                # Y∇ σ (1 - σ), one temporary fewer
        return gx


class Tanh(Op):
    """``Y = tanh X``; ``f' = 1 - tanh² X``, so ``X∇ = Y∇ ⊙ (1 - Y ⊙ Y)``."""

    name = "tanh"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        context["y"] = y
        return y

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        y = context["y"]
        return g * (1.0 - y * y)


class ReLU(Op):
    """``Y = max(X, 0)``; ``f'`` is 1 where ``X > 0`` and 0 elsewhere (0 at the kink, as the
    other engines take it), so ``X∇ = Y∇ ⊙ [X > 0]``."""

    name = "relu"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.maximum(x, 0.0)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * (context["x"] > 0)


class Abs(Op):
    """``Y = |X|``; ``f' = sign X`` (0 at the kink), so ``X∇ = Y∇ ⊙ sign X``."""

    name = "abs"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.abs(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * np.sign(context["x"])


class Softplus(Op):
    """``Y = ln(1 + e^X)``, computed as ``max(X, 0) + ln(1 + e^-|X|)`` (no overflow);
    ``f' = e^X/(1 + e^X) = σ(X)``, so ``X∇ = Y∇ ⊙ σ(X)``. The binary cross-entropy from the
    logit ``z`` is ``softplus(z) - t z`` (lecture part 1), whose gradient is ``σ(z) - t``."""

    name = "softplus"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * _sigmoid(context["x"])


def exp(x: Any) -> TensorNode:
    """``e^x`` element-wise."""
    return Exp.apply(x)


def log(x: Any) -> TensorNode:
    """The natural logarithm, element-wise."""
    return Log.apply(x)


def sin(x: Any) -> TensorNode:
    """``sin x`` element-wise."""
    return Sin.apply(x)


def cos(x: Any) -> TensorNode:
    """``cos x`` element-wise."""
    return Cos.apply(x)


def sigmoid(x: Any) -> TensorNode:
    """The logistic sigmoid ``1/(1 + e^-x)``, element-wise and overflow-free."""
    return Sigmoid.apply(x)


def tanh(x: Any) -> TensorNode:
    """``tanh x`` element-wise."""
    return Tanh.apply(x)


def relu(x: Any) -> TensorNode:
    """``max(x, 0)`` element-wise."""
    return ReLU.apply(x)


def abs(x: Any) -> TensorNode:
    """``|x|`` element-wise."""
    return Abs.apply(x)


def softplus(x: Any) -> TensorNode:
    """``ln(1 + e^x)`` element-wise, overflow-free."""
    return Softplus.apply(x)
