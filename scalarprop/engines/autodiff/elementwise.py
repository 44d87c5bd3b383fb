"""Element-wise functions ``Y = f(X)``: exp, log, sin, cos, sigmoid, tanh, relu, abs, softplus.

All share one derivation (the lecture's Sigmoid, slide 113), in four steps:

1. ``X∇_i = ∂l/∂X_i`` (``i`` a multi-index over any number of axes);
2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``, summing over *every* output element;
3. ``Y_a = f(X_a)`` depends on ``X_i`` only when ``a = i``: ``X∇_i = Y∇_i f'(X_i)``;
4. ``X∇ = Y∇ ⊙ f'(X)``.

:class:`Elementwise` writes that forward and backward once; each op below repeats the steps
in its docstring with its own ``f'`` and gives two functions: ``f``, and ``derivative``,
``f'`` written from the input ``x`` or the output ``y``, whichever is cheaper (the lecture's
sigmoid uses its output).

Numerical stability: sigmoid and softplus are written so that no exponential overflows
(``e^-|x|`` only), so arguments of ±700 give no NaN or inf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...functions import sigmoid_array, softplus_array
from .core import Op, TensorNode


class Elementwise(Op):
    """``Y = f(X)`` element-wise, for the ``f`` and ``derivative`` (``f'`` from the input
    ``x`` and the output ``y``) a subclass gives: the forward keeps ``x`` and ``y`` in the
    context, the backward is step 4, ``X∇ = Y∇ ⊙ f'(X)``."""

    name = "elementwise"

    @staticmethod
    def f(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def forward(cls, context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        y = cls.f(x)
        context["x"], context["y"] = x, y
        return y

    @classmethod
    def backward(cls, context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * cls.derivative(context["x"], context["y"])


def relu_array(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``."""
    return np.maximum(x, 0.0)


class Exp(Elementwise):
    """``Y = e^X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂e^{X_a}/∂X_i`` is ``e^{X_i} = Y_i`` for ``a = i``, else 0: ``X∇_i = Y∇_i Y_i``
    4. ``X∇ = Y∇ ⊙ Y`` (the output is kept in the context).
    """

    name = "exp"
    f = staticmethod(np.exp)
    derivative = staticmethod(lambda x, y: y)                   # e^x: the output itself


class Log(Elementwise):
    """``Y = ln X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ ln X_a/∂X_i`` is ``1/X_i`` for ``a = i``, else 0: ``X∇_i = Y∇_i / X_i``
    4. ``X∇ = Y∇ / X``.
    """

    name = "log"
    f = staticmethod(np.log)

    @classmethod
    def backward(cls, context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g / context["x"]         # step 4 as written: one rounding, not g·(1/x)'s two


class Sin(Elementwise):
    """``Y = sin X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ sin X_a/∂X_i`` is ``cos X_i`` for ``a = i``, else 0: ``X∇_i = Y∇_i cos X_i``
    4. ``X∇ = Y∇ ⊙ cos X``.
    """

    name = "sin"
    f = staticmethod(np.sin)
    derivative = staticmethod(lambda x, y: np.cos(x))


class Cos(Elementwise):
    """``Y = cos X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ cos X_a/∂X_i`` is ``-sin X_i`` for ``a = i``, else 0: ``X∇_i = -Y∇_i sin X_i``
    4. ``X∇ = -Y∇ ⊙ sin X``.
    """

    name = "cos"
    f = staticmethod(np.cos)
    derivative = staticmethod(lambda x, y: -np.sin(x))


class Sigmoid(Elementwise):
    """``Y = σ(X) = 1/(1 + e^-X)`` element-wise (slide 113).

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂σ(X_a)/∂X_i`` is ``σ(X_i)(1 - σ(X_i))`` for ``a = i``, else 0:
       ``X∇_i = Y∇_i σ(X_i)(1 - σ(X_i))``
    4. ``X∇ = Y∇ ⊙ σ(X) ⊙ (1 - σ(X))``, from the output kept in the context.
    """

    name = "sigmoid"
    f = staticmethod(sigmoid_array)

    @classmethod
    def backward(cls, context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        # (Y∇ ⊙ σ) ⊙ (1 − σ): the order of the vectorized engine's product, to the bit
        y = context["y"]
        gx = g * y
        gx *= 1.0 - y
        return gx


class Tanh(Elementwise):
    """``Y = tanh X`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ tanh X_a/∂X_i`` is ``1 - tanh² X_i = 1 - Y_i²`` for ``a = i``, else 0:
       ``X∇_i = Y∇_i (1 - Y_i²)``
    4. ``X∇ = Y∇ ⊙ (1 - Y ⊙ Y)`` (the output is kept).
    """

    name = "tanh"
    f = staticmethod(np.tanh)
    derivative = staticmethod(lambda x, y: 1.0 - y * y)         # from the output


class ReLU(Elementwise):
    """``Y = max(X, 0)`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂ max(X_a, 0)/∂X_i`` is ``[X_i > 0]`` for ``a = i`` (0 at the kink, as the other
       engines take it), else 0: ``X∇_i = Y∇_i [X_i > 0]``
    4. ``X∇ = Y∇ ⊙ [X > 0]``.
    """

    name = "relu"
    f = staticmethod(relu_array)
    derivative = staticmethod(lambda x, y: x > 0)


class Abs(Elementwise):
    """``Y = |X|`` element-wise.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂|X_a|/∂X_i`` is ``sign X_i`` for ``a = i`` (0 at the kink), else 0:
       ``X∇_i = Y∇_i sign X_i``
    4. ``X∇ = Y∇ ⊙ sign X``.
    """

    name = "abs"
    f = staticmethod(np.abs)
    derivative = staticmethod(lambda x, y: np.sign(x))


class Softplus(Elementwise):
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
    f = staticmethod(softplus_array)
    derivative = staticmethod(lambda x, y: sigmoid_array(x))


def as_function(op: type[Elementwise]) -> Callable[[Any], TensorNode]:
    """``op`` as a function of one node (or of anything numpy reads, a constant):
    ``exp(x)`` is ``Exp.apply(x)``. It is named after the op and documented by the first
    line of the op's docstring."""
    def function(x: Any) -> TensorNode:
        return op.apply(x)

    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = (op.__doc__ or "").strip().splitlines()[0]
    return function


exp, log, sin, cos, sigmoid, tanh, relu, abs, softplus = (
    as_function(op) for op in (Exp, Log, Sin, Cos, Sigmoid, Tanh, ReLU, Abs, Softplus))
