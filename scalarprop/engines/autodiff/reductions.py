"""Ops that change the shape: sum (all, or over axes), row-sum, expand, select by index, and
the element-wise choice ``where`` (lecture part 4, slides 114-115).

Derived in the lecture's four steps: one element, the multivariate chain rule over all
outputs, the scalar derivative (1 where an output contains the element, 0 elsewhere), and a
vectorized form. Summing and expanding are each other's backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .core import Axis, Op, TensorNode, unbroadcast, value_of


def normalize_axes(axis: Axis, ndim: int, op: str = "sum") -> tuple[int, ...]:
    """``axis`` (None: all; an int or ints, negative counting from the end) as sorted
    non-negative axes of a tensor with ``ndim`` axes; a ValueError naming ``op`` if one is out
    of range or repeated."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a!r} out of range for a tensor with {ndim} axes")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


class Sum(Op):
    """``Y = Σ X`` over ``axis`` (all axes by default; ``keepdims`` as in numpy).

    1. ``X∇_i = ∂l/∂X_i``
    2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``Y_a`` is the sum of the elements of ``X`` that agree with ``a`` on the kept axes, so
       ``∂Y_a/∂X_i`` is 1 for the one ``a`` that ``i`` is summed into: ``X∇_i = Y∇_a(i)``.
    4. ``X∇`` is ``Y∇`` expanded (repeated) along the summed axes.
    """

    name = "sum"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, *, axis: Axis = None,
                keepdims: bool = False) -> np.ndarray:
        axes = normalize_axes(axis, x.ndim)
        context["shape"], context["axes"], context["keepdims"] = x.shape, axes, keepdims
        return np.sum(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        shape, axes, keepdims = context["shape"], context["axes"], context["keepdims"]
        if not keepdims:
            g = np.expand_dims(g, axes)
        out = np.empty(shape)
        out[...] = g
        return out


class RowSum(Op):
    """``y = X 1``: the sum of each row of a matrix (slide 114).

    1. ``X∇_ij = ∂l/∂X_ij``
    2. ``= Σ_k y∇_k ∂y_k/∂X_ij``
    3. ``∂(Σ_l X_kl)/∂X_ij`` is 1 for ``k = i``, else 0: ``X∇_ij = y∇_i``
    4. ``X∇ = y∇ 1ᵀ``: the column ``y∇`` repeated ``m`` times. The context keeps ``m``.
    """

    name = "row_sum"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray) -> np.ndarray:
        if x.ndim != 2:
            raise ValueError(f"row_sum: expected a matrix, got shape {x.shape}")
        context["m"] = x.shape[1]
        return x.sum(axis=1)

    @staticmethod
    def backward(context: dict[str, Any], gy: np.ndarray) -> np.ndarray:
        return np.repeat(gy[:, None], context["m"], axis=1)


class Expand(Op):
    """``Y = x`` repeated to the constant ``shape``; ``x`` is a scalar (slide 115) or any
    tensor that broadcasts to ``shape``.

    1. ``x∇ = ∂l/∂x``
    2. ``= Σ_ab Y∇_ab ∂Y_ab/∂x``
    3. every ``Y_ab = x``, so ``∂Y_ab/∂x = 1``: ``x∇ = Σ_ab Y∇_ab``
    4. ``x∇ = Σ Y∇`` (for a tensor ``x``: summed over the axes it was repeated along).
    ``shape`` is a keyword constant: the backward gives it ``None``, as the lecture does.
    """

    name = "expand"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, *, shape: tuple[int, ...]
                ) -> np.ndarray:
        context["xshape"] = x.shape
        out = np.empty(shape)
        out[...] = x
        return out

    @staticmethod
    def backward(context: dict[str, Any], gy: np.ndarray) -> tuple[np.ndarray, None]:
        return unbroadcast(gy, context["xshape"]), None


class Select(Op):
    """``Y = X[index]`` with a constant numpy ``index`` (integers, slices, integer arrays):
    e.g. ``X[arange(n), t]`` picks each row's target class.

    1. ``X∇_i = ∂l/∂X_i``
    2. ``= Σ_a Y∇_a ∂Y_a/∂X_i``
    3. ``∂Y_a/∂X_i`` is 1 when output ``a`` was read from element ``i``, else 0: ``X∇_i`` is
       the sum of ``Y∇_a`` over the outputs that read ``i`` (0 for elements never selected,
       several terms for an element selected twice).
    4. ``X∇ = 0``, then ``Y∇`` scatter-added at ``index`` (``np.add.at``).
    """

    name = "select"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, *, index: Any) -> np.ndarray:
        context["shape"], context["index"] = x.shape, index
        return x[index]

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> np.ndarray:
        gx = np.zeros(context["shape"])
        np.add.at(gx, context["index"], g)
        return gx


class Where(Op):
    """``Y = A where condition else B``, element-wise, for a constant boolean ``condition``.

    1. ``A∇_i = ∂l/∂A_i``   2. ``= Σ_a Y∇_a ∂Y_a/∂A_i``
    3. ``∂Y_a/∂A_i`` is 1 for ``a = i`` where the condition holds, else 0:
       ``A∇_i = Y∇_i [c_i]`` and ``B∇_i = Y∇_i [not c_i]``
    4. ``A∇ = where(c, Y∇, 0)``, ``B∇ = where(c, 0, Y∇)``: the branch not taken gets an exact
       0, never ``0 · ∞``, even where its own value is infinite.
    """

    name = "where"

    @staticmethod
    def forward(context: dict[str, Any], a: np.ndarray, b: np.ndarray, *, condition: Any
                ) -> np.ndarray:
        c = np.asarray(condition, dtype=bool)
        context["c"], context["shapes"] = c, (a.shape, b.shape)
        return np.where(c, a, b)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any]:
        c = context["c"]
        sa, sb = context["shapes"]
        na, nb = context["needs_grad"]
        return ((unbroadcast(np.where(c, g, 0.0), sa) if na else None),
                (unbroadcast(np.where(c, 0.0, g), sb) if nb else None))


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> TensorNode:
    """The sum of all elements of ``x``, or over ``axis`` (an int or a tuple of ints)."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def row_sum(x: Any) -> TensorNode:
    """The sum of each row of a matrix: shape (n, m) to (n,)."""
    return RowSum.apply(x)


def expand(x: Any, shape: int | Sequence[int]) -> TensorNode:
    """``x`` (a scalar, or a tensor that broadcasts) repeated to ``shape``."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s)
                                                                             for s in shape)
    value = value_of(x)
    try:
        fits = np.broadcast_shapes(value.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"expand: cannot expand shape {value.shape} to {shape}")
    return Expand.apply(x, shape=shape)


def select(x: Any, index: Any) -> TensorNode:
    """``x[index]`` for a constant numpy index; ``select(x, (np.arange(n), t))`` picks
    ``x[i, t[i]]`` in every row."""
    if isinstance(index, TensorNode) or (isinstance(index, tuple)
                                         and any(isinstance(i, TensorNode) for i in index)):
        raise ValueError("select: the index must be constant (ints, slices, integer arrays), "
                         "not a TensorNode")
    return Select.apply(x, index=index)


def pick(x: Any, t: Any) -> TensorNode:
    """Row ``i``'s element in column ``t[i]``: ``x[arange(n), t]`` for a matrix ``x``."""
    n = value_of(x).shape[0]
    idx = np.asarray(t).reshape(-1)
    if idx.shape[0] != n or idx.dtype.kind not in "iuf" or (idx != np.round(idx)).any():
        raise ValueError(f"pick: expected {n} integer column indices, got {np.shape(t)}")
    return Select.apply(x, index=(np.arange(n), idx.astype(np.intp)))


def where(condition: Any, a: Any, b: Any) -> TensorNode:
    """``a`` where ``condition`` holds, else ``b`` (element-wise, broadcasting); the
    condition is a constant."""
    return Where.apply(a, b, condition=condition)
