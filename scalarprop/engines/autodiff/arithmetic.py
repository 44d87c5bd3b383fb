"""Arithmetic ops: + - * / @, negation, powers and the transpose (lecture part 4, slide 111).

Each backward is derived in the lecture's four steps (the recipe of slide 75):

1. write the gradient of the loss for *one element* of the input, ``X∇_i = ∂l/∂X_i``;
2. apply the multivariate chain rule over *all outputs*, ``X∇_i = Σ_a Y∇_a ∂Y_a/∂X_i``;
3. work out the scalar derivative ``∂Y_a/∂X_i`` and the sum;
4. vectorize: write the result with whole-array operations.

The element-wise ops follow numpy broadcasting. An input that was broadcast along an axis
feeds every output along that axis, so step 2 leaves a sum over that axis: see
:func:`unbroadcast`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# unbroadcast lives in core (reductions needs it while this module may still be loading,
# imported by core); it stays importable from here
from .core import Op, TensorNode, unbroadcast


class Add(Op):
    """``S = A + B`` element-wise (the lecture's ``Plus``, slide 111).

    1. ``A∇_ij = ∂l/∂A_ij``
    2. ``= Σ_kl S∇_kl ∂S_kl/∂A_ij``
    3. ``∂S_kl/∂A_ij = ∂(A_kl + B_kl)/∂A_ij`` is 1 for ``kl = ij`` and 0 otherwise, so
       ``A∇_ij = S∇_ij``; the same for ``B``.
    4. ``A∇ = S∇``, ``B∇ = S∇`` (each summed over the axes it was broadcast along).
    No context needed: the backward does not depend on the inputs' values.
    """

    name = "add"

    @staticmethod
    def forward(context: dict[str, Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        context["shapes"] = (a.shape, b.shape)
        return a + b

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any]:
        sa, sb = context["shapes"]
        na, nb = context["needs_grad"]
        return (unbroadcast(g, sa) if na else None), (unbroadcast(g, sb) if nb else None)


class Subtract(Op):
    """``S = A - B`` element-wise.

    1. ``B∇_ij = ∂l/∂B_ij``
    2. ``= Σ_kl S∇_kl ∂S_kl/∂B_ij``
    3. ``∂(A_kl - B_kl)/∂B_ij`` is -1 for ``kl = ij``, else 0: ``B∇_ij = -S∇_ij``
       (and ``A∇_ij = S∇_ij`` as for Add).
    4. ``A∇ = S∇``, ``B∇ = -S∇`` (summed over broadcast axes).
    """

    name = "subtract"

    @staticmethod
    def forward(context: dict[str, Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        context["shapes"] = (a.shape, b.shape)
        return a - b

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any]:
        sa, sb = context["shapes"]
        na, nb = context["needs_grad"]
        return (unbroadcast(g, sa) if na else None), (unbroadcast(-g, sb) if nb else None)


class Multiply(Op):
    """``P = A ⊙ B`` element-wise.

    1. ``A∇_ij = ∂l/∂A_ij``
    2. ``= Σ_kl P∇_kl ∂P_kl/∂A_ij``
    3. ``∂(A_kl B_kl)/∂A_ij`` is ``B_ij`` for ``kl = ij``, else 0: ``A∇_ij = P∇_ij B_ij``,
       and likewise ``B∇_ij = P∇_ij A_ij`` (note the swap).
    4. ``A∇ = P∇ ⊙ B``, ``B∇ = P∇ ⊙ A`` (summed over broadcast axes).
    """

    name = "multiply"

    @staticmethod
    def forward(context: dict[str, Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        context["a"], context["b"] = a, b
        return a * b

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any]:
        a, b = context["a"], context["b"]
        na, nb = context["needs_grad"]
        return ((unbroadcast(g * b, a.shape) if na else None),
                (unbroadcast(g * a, b.shape) if nb else None))


class Divide(Op):
    """``Q = A / B`` element-wise.

    1. ``B∇_ij = ∂l/∂B_ij``
    2. ``= Σ_kl Q∇_kl ∂Q_kl/∂B_ij``
    3. ``∂(A_kl / B_kl)/∂B_ij`` is ``-A_ij / B_ij²`` for ``kl = ij``, else 0; for ``A`` it is
       ``1 / B_ij``. So ``A∇_ij = Q∇_ij / B_ij`` and ``B∇_ij = -Q∇_ij A_ij / B_ij²``.
    4. ``A∇ = Q∇ / B``, ``B∇ = -Q∇ ⊙ A / (B ⊙ B)`` (summed over broadcast axes).
    """

    name = "divide"

    @staticmethod
    def forward(context: dict[str, Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        context["a"], context["b"] = a, b
        return a / b

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any]:
        a, b = context["a"], context["b"]
        na, nb = context["needs_grad"]
        return ((unbroadcast(g / b, a.shape) if na else None),
                (unbroadcast(-g * a / (b * b), b.shape) if nb else None))


class Negate(Op):
    """``Y = -X``.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂(-X_a)/∂X_i`` is -1 for ``a = i``, else 0: ``X∇_i = -Y∇_i``   4. ``X∇ = -Y∇``.
    """

    name = "negate"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return -g


class Power(Op):
    """``Y = X ** p`` element-wise, for a constant exponent ``p`` (a keyword constant).

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂X_a^p/∂X_i`` is ``p X_i^(p-1)`` for ``a = i``, else 0: ``X∇_i = Y∇_i p X_i^(p-1)``
    4. ``X∇ = Y∇ ⊙ p X^(p-1)``. The backward returns ``None`` for the constant ``p``, as
       the lecture's Expand does for its size.
    """

    name = "power"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, *, p: float) -> np.ndarray:
        context["x"], context["p"] = x, p
        return x ** p

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, None]:
        x, p = context["x"], context["p"]
        return g * (p * x ** (p - 1)), None


class Square(Op):
    """``Y = X ⊙ X``: the squared error's square.

    1. ``X∇_i = ∂l/∂X_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂X_a²/∂X_i`` is ``2 X_i`` for ``a = i``, else 0: ``X∇_i = 2 Y∇_i X_i``
    4. ``X∇ = Y∇ ⊙ 2 X`` (slide 70: ``y∇ = 2(y - t)`` when ``Y∇ = 1``).
    """

    name = "square"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        context["x"] = x
        return x * x

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g * 2.0 * context["x"]


class MatMul(Op):
    """``C = A B``, ``C_ik = Σ_j A_ij B_jk`` (matrices; a 1-D operand is a row or column).

    1. ``A∇_ij = ∂l/∂A_ij``
    2. ``= Σ_ab C∇_ab ∂C_ab/∂A_ij``
    3. ``∂(Σ_c A_ac B_cb)/∂A_ij`` is ``B_jb`` when ``a = i``, else 0, so
       ``A∇_ij = Σ_b C∇_ib B_jb``; likewise ``B∇_jk = Σ_a C∇_ak A_aj``.
    4. ``A∇ = C∇ Bᵀ``, ``B∇ = Aᵀ C∇`` (slides 77-79: ``W∇ = K∇ᵀ X``, ``H∇ = K∇ W``).

    ``B∇`` is computed as ``(C∇ᵀ A)ᵀ``, the same numbers: when ``B = Wᵀ`` (a layer's ``X Wᵀ``)
    the transpose's backward turns it into the contiguous ``W∇ = K∇ᵀ X``. An input that needs
    no gradient (the data ``X``) costs nothing.
    """

    name = "matmul"

    @staticmethod
    def forward(context: dict[str, Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise ValueError(f"matmul: expected vectors or matrices, got shapes {a.shape} and "
                             f"{b.shape}")
        context["a"], context["b"] = a, b
        return a @ b

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any]:
        a, b = context["a"], context["b"]
        na, nb = context["needs_grad"]
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = g.reshape(a2.shape[0], b2.shape[1])
        ga = (g2 @ b2.T).reshape(a.shape) if na else None
        gb = (g2.T @ a2).T.reshape(b.shape) if nb else None
        return ga, gb


class Transpose(Op):
    """``Y = Xᵀ`` (the axes reversed): a view, no copy (slide 96).

    1. ``X∇_ij = ∂l/∂X_ij``   2. ``= Σ_ab Y∇_ab ∂Y_ab/∂X_ij``
    3. ``∂X_ba/∂X_ij`` is 1 for ``(b, a) = (i, j)``, else 0: ``X∇_ij = Y∇_ji``
    4. ``X∇ = (Y∇)ᵀ``.
    """

    name = "transpose"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        return x.T

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        return g.T


def add(a: Any, b: Any) -> TensorNode:
    """``a + b`` (broadcasting)."""
    return Add.apply(a, b)


def subtract(a: Any, b: Any) -> TensorNode:
    """``a - b`` (broadcasting)."""
    return Subtract.apply(a, b)


def multiply(a: Any, b: Any) -> TensorNode:
    """``a * b`` element-wise (broadcasting)."""
    return Multiply.apply(a, b)


def divide(a: Any, b: Any) -> TensorNode:
    """``a / b`` element-wise (broadcasting)."""
    return Divide.apply(a, b)


def negate(x: Any) -> TensorNode:
    """``-x``."""
    return Negate.apply(x)


def power(x: Any, p: float) -> TensorNode:
    """``x ** p`` for a constant exponent ``p`` (``p`` gets no gradient)."""
    if isinstance(p, TensorNode):
        raise ValueError("power: the exponent must be a constant number, not a TensorNode")
    return Power.apply(x, p=float(p))


def square(x: Any) -> TensorNode:
    """``x * x`` element-wise."""
    return Square.apply(x)


def matmul(a: Any, b: Any) -> TensorNode:
    """The matrix product ``a @ b``."""
    return MatMul.apply(a, b)


def transpose(x: Any) -> TensorNode:
    """``xᵀ``."""
    return Transpose.apply(x)
