"""Larger ops for the engine's fast path: a whole layer ``H = act(X Wᵀ + b)`` in one op, and
the smooth losses in one op each (lecture part 4, slide 117: a module is ops; an op may be as
big as we can derive a backward for).

The readable MLP graph has about three ops per layer (linear, activation) and four for the
cross-entropy (log-softmax, pick, sum, negate); each op costs a few microseconds of Python
whatever the size of its arrays, which is most of a small network's step. These ops compute
the same numbers (tested equal within 1e-12, and against finite differences) with the tricks
of the vectorized engine's fast path:

* a layer's nodes are stored a unit per row, an example per column (``Kᵀ = W Xᵀ``, the
  slides' column form); the node's ``value`` is the transposed view, of the usual shape
  (examples, units), so any other op reads it as usual;
* when the backward walk offers it (``context["step"]``, see :mod:`.engine`), the
  gradient-descent step is folded into the gradient's matrix product: ``W ← W − α K∇ᵀ X`` is
  one ``dgemm`` with ``beta = 1`` writing into ``W``, so ``W∇`` is never stored, and
  ``b ← b − α Σₙ K∇`` is taken in the pass that computes ``K∇``;
* the element-wise work is one compiled pass where numpy would take one per operator
  (:mod:`.passes`: the sigmoid written over ``K``; ``K∇ = H∇ ⊙ act'`` with ``act'`` from
  ``H`` and the bias sum; the softmax cross-entropy after numpy's SIMD ``exp``);
* given :class:`Buffers`, every array an op writes is made once and reused by the next step
  (the engine drops each step's graph before building the next).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.blas import dgemm

from ...functions import (
    HIDDEN,
    IDENTITY,
    activation_backward,
    sigmoid_array,
    softmax_ce_from_exp,
    softplus_array,
)
from .core import Op, TensorNode, value_of
from .passes import sigmoid_rows_in_place, squared_error_pass


class Buffers:
    """Arrays kept from one step to the next, one per name and shape: an op that is given
    ``Buffers`` writes its outputs there instead of new arrays. Everything a graph built with
    them holds is overwritten when the next graph is built with them."""

    __slots__ = ("arrays",)

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The array called ``name`` of ``shape`` (made on first use, contents undefined)."""
        key = (name, shape)
        a = self.arrays.get(key)
        if a is None:
            a = self.arrays[key] = np.empty(shape)
        return a


def array(buffers: Buffers | None, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A reused array from ``buffers``, or a new one when there are none."""
    return np.empty(shape) if buffers is None else buffers.get(name, shape)


def descend(W: np.ndarray, lr: float, K_grad_T: np.ndarray, x: np.ndarray) -> None:
    """``W ← W − α K∇ᵀ x`` in place, as one BLAS call: ``C ← α A B + β C`` with ``β = 1``.

    BLAS reads arrays column-major, so the row-major ``W`` is the column-major ``Wᵀ``, and
    the call is ``Wᵀ ← Wᵀ − α xᵀ K∇``; each operand is handed over as the column-major array
    it already is (a transpose flag where it is not), so nothing is copied."""
    a, trans_a = (x.T, 0) if x.flags.c_contiguous else (x, 1)
    b, trans_b = (K_grad_T.T, 0) if K_grad_T.flags.c_contiguous else (K_grad_T, 1)
    dgemm(-lr, a, b, 1.0, W.T, trans_a=trans_a, trans_b=trans_b, overwrite_c=1)


def can_descend(p: np.ndarray) -> bool:
    """Whether :func:`descend` writes into the parameter ``p`` itself
    (BLAS needs it in one block)."""
    return p.flags.c_contiguous and p.dtype == np.float64


class Dense(Op):
    """A whole layer: ``H = act(K)`` with ``K = X Wᵀ + b``, for a batch ``X`` (n, m), ``W``
    (p, m), ``b`` (p,) and an element-wise ``activation`` (identity, sigmoid, tanh, relu).

    1. ``W∇_ji = ∂l/∂W_ji``
    2. ``= Σ_ak H∇_ak ∂H_ak/∂W_ji``
    3. ``H_ak = act(K_ak)`` and ``K_ak = Σ_c X_ac W_kc + b_k``, so ``∂H_ak/∂W_ji`` is
       ``act'(K_aj) X_ai`` when ``k = j``, else 0: ``W∇_ji = Σ_a K∇_aj X_ai`` with
       ``K∇ = H∇ ⊙ act'(K)``; in the same way ``X∇_ni = Σ_j K∇_nj W_ji`` and
       ``b∇_j = Σ_a K∇_aj``.
    4. ``K∇ = H∇ ⊙ act'(K)``, then ``W∇ = K∇ᵀ X``, ``X∇ = K∇ W``, ``b∇ = Σₙ K∇``: the
       backward of the activation op followed by that of the linear op (lecture part 3).

    The forward writes ``H`` over ``K`` and keeps nothing else: the backward takes ``act'``
    from ``H`` (sigmoid: ``h (1 − h)``; tanh: ``1 − h²``; relu: ``[h > 0]``, which is
    ``[k > 0]``) in the pass that computes ``K∇`` and ``b∇`` (:mod:`.passes`).
    """

    name = "dense"

    @staticmethod
    def forward(context: dict[str, Any], x: np.ndarray, W: np.ndarray, b: np.ndarray, *,
                activation: str = "identity", buffers: Buffers | None = None) -> np.ndarray:
        # shapes and activation as dense() checked them: a kept graph runs this every step
        H = array(buffers, "K", (W.shape[0], x.shape[0]))     # a unit per row: Kᵀ = W Xᵀ
        np.matmul(W, x.T, out=H)
        ACTIVATIONS[activation](H, b)                          # H = act(K + b), over K
        context["x"], context["W"], context["b"], context["H"] = x, W, b, H
        context["code"], context["buffers"] = HIDDEN[activation], buffers
        return H.T

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[Any, Any, Any]:
        x, W, b, buffers = context["x"], context["W"], context["b"], context["buffers"]
        nx, nW, nb = context["needs_grad"]
        _, dW, db = context.get("grad_out") or (None, None, None)
        _, step_W, step_b = context.get("step") or (None, None, None)
        G = g.T                                     # H∇ᵀ: a unit per row
        code = context["code"]
        K_grad = G if code == IDENTITY else array(buffers, "K_grad", G.shape)
        gb = None
        if nb and step_b is not None:               # b ← b − α Σₙ K∇: b∇ never stored
            activation_backward(code, context["H"], G, K_grad, -step_b, 1.0, b)
        else:                                       # b∇ = Σₙ K∇ (needed or not)
            gb = array(buffers, "b_grad", b.shape) if db is None else db
            activation_backward(code, context["H"], G, K_grad, 1.0, 0.0, gb)
            if not nb:
                gb = None
        gx = None
        if nx:                                      # X∇ = K∇ W, from W before any step
            gx = np.matmul(W.T, K_grad,
                           out=array(buffers, "X_grad", (W.shape[1], G.shape[1]))).T
        gW = None
        if nW:
            if step_W is not None and can_descend(W):
                descend(W, step_W, K_grad, x)       # W ← W − α K∇ᵀ X: W∇ never stored
            else:
                gW = np.matmul(K_grad, x, out=dW)   # W∇ = K∇ᵀ X
        return gx, gW, gb


def add_bias(K: np.ndarray, b: np.ndarray) -> None:
    """``K ← K + b``, ``b[j]`` added to row ``j`` (the identity's ``H`` is ``K + b``)."""
    np.add(K, b[:, None], out=K)


def tanh_in_place(K: np.ndarray, b: np.ndarray) -> None:
    """``K ← tanh(K + b)`` (numpy's tanh is SIMD, a compiled loop's is a libm call per
    element)."""
    np.add(K, b[:, None], out=K)
    np.tanh(K, out=K)


def relu_in_place(K: np.ndarray, b: np.ndarray) -> None:
    """``K ← max(K + b, 0)`` (0 at the kink, as the other engines take it)."""
    np.add(K, b[:, None], out=K)
    np.maximum(K, 0.0, out=K)


#: activation -> the function writing ``H = act(K + b)`` over ``K`` (the sigmoid's in one
#: compiled pass)
ACTIVATIONS = {"identity": add_bias, "sigmoid": sigmoid_rows_in_place, "tanh": tanh_in_place,
               "relu": relu_in_place}


def dense(x: Any, W: Any, b: Any, activation: str = "identity", buffers: Buffers | None = None
          ) -> TensorNode:
    """``act(x Wᵀ + b)`` as one op (the layer of :class:`Dense`), for ``x`` (n, m), ``W``
    (p, m), ``b`` (p,)."""
    xs, Ws, bs = (value_of(a).shape for a in (x, W, b))
    if len(xs) != 2 or len(Ws) != 2 or bs != (Ws[0],) or xs[1] != Ws[1]:
        raise ValueError(f"dense: expected X (n, m), W (p, m), b (p,); got {xs}, {Ws}, {bs}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"dense: activation={activation!r}; expected one of "
                         f"{list(ACTIVATIONS)}")
    return Dense.apply(x, W, b, activation=activation, buffers=buffers)


# -- the losses, each one op -----------------------------------------------------------------

class SoftmaxCrossEntropy(Op):
    """``l = Σₙ (ln Σ_j e^{Z_nj} − Z_{n tₙ})``: the cross-entropy of ``softmax(Z)`` for the
    class indices ``t`` (a constant), from the logits ``Z`` (n, K), as one op.

    1. ``Z∇_nj = ∂l/∂Z_nj``
    2. ``= l∇ ∂l/∂Z_nj`` (one output, the scalar ``l``)
    3. ``∂(ln Σ_k e^{Z_nk})/∂Z_nj = e^{Z_nj}/Σ_k e^{Z_nk} = softmax(Z)_nj`` and
       ``∂Z_{n tₙ}/∂Z_nj = [j = tₙ]``: ``Z∇_nj = l∇ (softmax(Z)_nj − [j = tₙ])``
    4. ``Z∇ = l∇ (softmax(Z) − onehot(t))``: what log_softmax, pick, sum and negate give in
       four ops. The largest logit of each row is subtracted before ``exp`` (no overflow).
    """

    name = "softmax_ce"

    @staticmethod
    def forward(context: dict[str, Any], z: np.ndarray, t: np.ndarray, *,
                buffers: Buffers | None = None) -> np.ndarray:
        Zt = z.T                                    # a class per row, as Dense stores it
        top = Zt.max(axis=0)
        G = np.subtract(Zt, top, out=array(buffers, "Z_grad", Zt.shape))
        np.exp(G, out=G)
        l = softmax_ce_from_exp(Zt, top, t.reshape(-1), G)   # G = softmax(Z)ᵀ − onehot(t)ᵀ
        context["dz"] = G.T
        return np.array(l)

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[np.ndarray, None]:
        return scaled(context["dz"], g), None       # t is a constant


class SigmoidCrossEntropy(Op):
    """``l = Σ softplus(Z) − T ⊙ Z``: the binary cross-entropy of ``σ(Z)`` for targets ``T``
    in {0, 1} (a constant), from the logits, as one op.

    1. ``Z∇_i = ∂l/∂Z_i``   2. ``= l∇ ∂l/∂Z_i``
    3. ``∂(softplus(Z_i) − T_i Z_i)/∂Z_i = σ(Z_i) − T_i``: ``Z∇_i = l∇ (σ(Z_i) − T_i)``
    4. ``Z∇ = l∇ (σ(Z) − T)``.
    """

    name = "sigmoid_bce"

    @staticmethod
    def forward(context: dict[str, Any], z: np.ndarray, t: np.ndarray, *,
                buffers: Buffers | None = None) -> np.ndarray:
        if context["needs_grad"][0]:
            context["dz"] = sigmoid_array(z) - t
        return np.array(np.sum(softplus_array(z) - z * t))

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[np.ndarray, None]:
        return scaled(context["dz"], g), None       # t is a constant


class SquaredError(Op):
    """``l = Σ (Y − T)²`` for targets ``T`` (a constant), as one op (slide 70).

    1. ``Y∇_i = ∂l/∂Y_i``   2. ``= l∇ ∂l/∂Y_i``
    3. ``∂(Y_i − T_i)²/∂Y_i = 2 (Y_i − T_i)``: ``Y∇_i = 2 l∇ (Y_i − T_i)``
    4. ``Y∇ = 2 l∇ (Y − T)``.
    """

    name = "squared_error"

    @staticmethod
    def forward(context: dict[str, Any], y: np.ndarray, t: np.ndarray, *,
                buffers: Buffers | None = None) -> np.ndarray:
        # Y∇ in the layout of y (a unit per row underneath, as Dense stores it): the dense
        # op's backward then reads its K∇ᵀ as one block
        if t.shape != y.shape:      # the compiled pass reads t over y's shape, unchecked
            raise ValueError(f"squared_error: targets of shape {t.shape} for outputs of "
                             f"shape {y.shape}")
        dz = array(buffers, "Y_grad", y.T.shape).T
        context["dz"] = dz
        return np.array(squared_error_pass(y, t, dz))

    @staticmethod
    def backward(context: dict[str, Any], g: np.ndarray) -> tuple[np.ndarray, None]:
        return scaled(context["dz"], g), None       # t is a constant


def scaled(dz: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``g dz`` for the scalar ``g = l∇``: ``dz`` itself when ``g`` is 1, as it is for the
    loss the walk starts from."""
    return dz if g == 1.0 else dz * g


#: loss name -> its one-op form (absolute and hinge keep their ops from :mod:`.losses`)
LOSS_OPS = {"ce": SoftmaxCrossEntropy, "bce": SigmoidCrossEntropy, "squared": SquaredError}
