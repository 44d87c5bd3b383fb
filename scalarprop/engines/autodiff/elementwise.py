"""Element-wise functions ``Y = f(X)``: exp, log, sin, cos, sigmoid, tanh, relu, abs, softplus.

All share one derivation (the lecture's Sigmoid, slide 113), in four steps:

1. ``X∇_i = ∂l/∂X_i`` (``i`` a multi-index over any number of axes);
2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``, summing over *every* output element;
3. ``Y_a = f(X_a)`` depends on ``X_i`` only when ``a = i``: ``X∇_i = Y∇_i f'(X_i)``;
4. ``X∇ = Y∇ ⊙ f'(X)``.

Each op below repeats the steps with its own ``f'``, and keeps in the context what computes it
cheaply (often the output itself, as the lecture's sigmoid does).

Numerical stability: sigmoid and softplus are written so that no exponential overflows
(``e^-|x|`` only), so arguments of ±700 give no NaN or inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...functions import sigmoid_array, softplus_array
from .core import Op, TensorNode


class Exp(Op):
    """``Y = e^X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂e^{X_a}/∂X_i`` is ``e^{X_i} = Y_i`` for ``a = i``, else 0: ``X∇_i = Y∇_i Y_i``
    4. ``X∇ = Y∇ ⊙ Y`` (the output is kept in the context).
    """

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
    """``Y = ln X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ ln X_a/∂X_i`` is ``1/X_i`` for ``a = i``, else 0: ``X∇_i = Y∇_i / X_i``
    4. ``X∇ = Y∇ / X``.
    """

    name = "log"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.log(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g / context["x"]


class Sin(Op):
    """``Y = sin X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ sin X_a/∂X_i`` is ``cos X_i`` for ``a = i``, else 0: ``X∇_i = Y∇_i cos X_i``
    4. ``X∇ = Y∇ ⊙ cos X``.
    """

    name = "sin"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.sin(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * np.cos(context["x"])


class Cos(Op):
    """``Y = cos X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ cos X_a/∂X_i`` is ``-sin X_i`` for ``a = i``, else 0: ``X∇_i = -Y∇_i sin X_i``
    4. ``X∇ = -Y∇ ⊙ sin X``.
    """

    name = "cos"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.cos(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return -g * np.sin(context["x"])


class Sigmoid(Op):
    """``Y = σ(X) = 1/(1 + e^-X)`` element-wise (slide 113).

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂σ(X_a)/∂X_i`` is ``σ(X_i)(1 - σ(X_i))`` for ``a = i``, else 0:
       ``X∇_i = Y∇_i σ(X_i)(1 - σ(X_i))``
    4. ``X∇ = Y∇ ⊙ σ(X) ⊙ (1 - σ(X))``, from the output kept in the context.
    """

    name = "sigmoid"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        sigx = sigmoid_array(x)
        context["sigx"] = sigx
        return sigx

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        sigx = context["sigx"]
        gx = g * sigx
        gx *= 1.0 - sigx                # Y∇ σ (1 - σ); in place: gx is this call's own array
        return gx


class Tanh(Op):
    """``Y = tanh X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ tanh X_a/∂X_i`` is ``1 - tanh² X_i = 1 - Y_i²`` for ``a = i``, else 0:
       ``X∇_i = Y∇_i (1 - Y_i²)``
    4. ``X∇ = Y∇ ⊙ (1 - Y ⊙ Y)`` (the output is kept).
    """

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
    """``Y = max(X, 0)`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ max(X_a, 0)/∂X_i`` is ``[X_i > 0]`` for ``a = i`` (0 at the kink, as the other
       engines take it), else 0: ``X∇_i = Y∇_i [X_i > 0]``
    4. ``X∇ = Y∇ ⊙ [X > 0]``.
    """

    name = "relu"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.maximum(x, 0.0)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * (context["x"] > 0)


class Abs(Op):
    """``Y = |X|`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂|X_a|/∂X_i`` is ``sign X_i`` for ``a = i`` (0 at the kink), else 0:
       ``X∇_i = Y∇_i sign X_i``
    4. ``X∇ = Y∇ ⊙ sign X``.
    """

    name = "abs"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return np.abs(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * np.sign(context["x"])


class Softplus(Op):
    """``Y = ln(1 + e^X)`` element-wise, computed as ``max(X, 0) + ln(1 + e^-|X|)`` (no
    overflow).

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ ln(1 + e^{X_a})/∂X_i`` is ``e^{X_i}/(1 + e^{X_i}) = σ(X_i)`` for ``a = i``, else 0:
       ``X∇_i = Y∇_i σ(X_i)``
    4. ``X∇ = Y∇ ⊙ σ(X)``.

    The binary cross-entropy from the logit ``z`` is ``softplus(z) - t z`` (lecture part 1),
    whose gradient is ``σ(z) - t``.
    """

    name = "softplus"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return softplus_array(x)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * sigmoid_array(context["x"])


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
