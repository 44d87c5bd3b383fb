"""Activations and losses (lecture part 1): each one's value and local derivative.

Every function comes twice: a scalar form (``@njit``, one number at a time, used by the
scalar engine's kernels) and an array form (numpy, used by the vectorized engine). The two
are written separately on purpose: the engines must agree because the tests hold them to it.

Names are mapped to small integer codes so that a compiled kernel can branch on them.

Numerical stability (pre-activations up to +-700 give no NaN or inf):

* sigmoid is evaluated as ``1/(1+e^-k)`` for ``k >= 0`` and ``e^k/(1+e^k)`` otherwise;
* softmax subtracts the largest logit before exponentiating (log-sum-exp);
* bce and ce are computed from the logits ``z`` of the output layer, never from ``log(y)``:
  ``bce = max(z,0) - z t + log(1 + e^-|z|)`` and ``ce = logsumexp(z) - z_t``, whose
  gradients are ``sigmoid(z) - t`` and ``softmax(z) - onehot(t)``.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numba import njit

from . import jit  # noqa: F401  (first: the kernels below are cached by source hash)

# -- codes -------------------------------------------------------------------------------

IDENTITY, SIGMOID, RELU, TANH, SOFTMAX = 0, 1, 2, 3, 4
SQUARED, ABSOLUTE, BCE, CE, HINGE = 0, 1, 2, 3, 4

HIDDEN = {"identity": IDENTITY, "sigmoid": SIGMOID, "relu": RELU, "tanh": TANH}
OUTPUT = {"identity": IDENTITY, "sigmoid": SIGMOID, "softmax": SOFTMAX}
LOSSES = {"squared": SQUARED, "absolute": ABSOLUTE, "bce": BCE, "ce": CE, "hinge": HINGE}

#: which output activations each loss accepts (lecture part 1, the loss table)
LOSS_OUTPUTS = {
    "squared": ("identity", "sigmoid", "softmax"),
    "absolute": ("identity", "sigmoid", "softmax"),
    "bce": ("sigmoid",),
    "ce": ("softmax",),
    "hinge": ("identity",),
}

#: losses whose gradient is not defined everywhere (a kink the finite differences can straddle)
KINKED_LOSSES = ("absolute", "hinge")
KINKED_ACTIVATIONS = ("relu",)


def check_combination(sizes: tuple[int, ...], hidden: str, output: str, loss: str) -> None:
    """Refuse names we do not know and combinations that make no sense, with a ValueError."""
    if hidden not in HIDDEN:
        raise ValueError(f"hidden={hidden!r}: unknown hidden activation; expected one of "
                         f"{sorted(HIDDEN)}")
    if output not in OUTPUT:
        raise ValueError(f"output={output!r}: unknown output activation; expected one of "
                         f"{sorted(OUTPUT)}")
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r}: unknown loss; expected one of {sorted(LOSSES)}")
    if output not in LOSS_OUTPUTS[loss]:
        raise ValueError(f"loss={loss!r} needs output in {LOSS_OUTPUTS[loss]}, got "
                         f"output={output!r}")
    n_out = sizes[-1]
    if output == "softmax" and n_out < 2:
        raise ValueError(f"output='softmax' needs at least 2 output units, sizes[-1]={n_out}")
    if loss == "hinge" and n_out != 1:
        raise ValueError(f"loss='hinge' needs exactly 1 output unit, sizes[-1]={n_out}")


# -- scalar forms (the scalar engine) ---------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def sigmoid(k: float) -> float:
    """sigma(k) = 1/(1+e^-k), in the form that cannot overflow for either sign of k."""
    if k >= 0.0:
        return 1.0 / (1.0 + math.exp(-k))
    e = math.exp(k)
    return e / (1.0 + e)


# e^-a = 2^-m e^r with m = round(a / ln 2) and r = m ln 2 - a, |r| <= ln2/2: ln 2 in two
# parts, so that m ln 2 is exact to the last bit of r (Cody and Waite's reduction)
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00
TWO52 = 2.0 ** 52
TWO52_BITS = int(np.float64(TWO52).view(np.int64))


@njit(cache=True, nogil=True, error_model="numpy")
def sigmoid_simd(k: float) -> float:
    """sigma(k) as :func:`sigmoid` computes it (equal within 3 units in the last place), in
    arithmetic alone. A loop of :func:`sigmoid` calls libm's ``exp`` once per element (about
    5 ns); a loop of this one has no call, so LLVM vectorizes it (SIMD, about 1.5 ns with the
    division and sigma' included). The fast engines use it for layers of many units.

    ``e^-|k| = 2^-m e^r``: ``e^r`` from its Taylor series to ``r^13/13!`` (the first term left
    out is below 4e-18 for ``|r| <= ln2/2``), ``2^-m`` built from its exponent bits (the
    integer ``1023 - m`` sits in the low bits of the double ``1023 - m + 2^52``). Beyond
    ``|k| = 708`` (``e^-708`` is the last normal number) ``e^-|k|`` is taken as 0, which
    :func:`sigmoid` reaches at ``|k| = 745``; NaN stays NaN."""
    a = abs(k)
    beyond = a > 708.0
    if beyond:
        a = 708.0
    m = np.floor(a * INV_LN2 + 0.5)
    r = (m * LN2_HI - a) + m * LN2_LO
    p = 1.0 / 6227020800.0                       # 1/13!
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    y = np.float64(1023.0 - m + TWO52)
    e = p * np.int64((y.view(np.int64) - TWO52_BITS) << 52).view(np.float64)
    if beyond:
        e = 0.0
    q = 1.0 / (1.0 + e)
    return q if k >= 0.0 else e * q


@njit(cache=True, nogil=True, error_model="numpy")
def activate(code: int, k: float) -> float:
    """h = act(k) for an element-wise activation."""
    if code == SIGMOID:
        return sigmoid(k)
    if code == RELU:
        return k if k > 0.0 else 0.0
    if code == TANH:
        return math.tanh(k)
    return k


@njit(cache=True, nogil=True, error_model="numpy")
def activate_grad(code: int, k: float, h: float) -> float:
    """dh/dk, written from the stored h where the lecture does: sigma' = h(1-h)."""
    if code == SIGMOID:
        return h * (1.0 - h)
    if code == RELU:
        return 1.0 if k > 0.0 else 0.0
    if code == TANH:
        return 1.0 - h * h
    return 1.0


#: the largest x whose e^x is a finite float, log(DBL_MAX) = 709.78...
EXP_MAX = math.log(sys.float_info.max)


@njit(cache=True, nogil=True, error_model="numpy")
def exp_or_inf(x: float) -> float:
    """e^x, and inf where e^x is beyond the largest float.

    Compiled, ``math.exp`` already gives inf there; plain Python (``NUMBA_DISABLE_JIT=1``)
    raises OverflowError instead. The test keeps both runs the same, bit for bit.
    """
    if x > EXP_MAX:
        return math.inf
    return math.exp(x)


@njit(cache=True, nogil=True, error_model="numpy")
def log1pexp(z: float) -> float:
    """log(1 + e^z) without overflow (softplus)."""
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


# -- array forms (the vectorized engine) ----------------------------------------------------

def sigmoid_array(k: np.ndarray) -> np.ndarray:
    """Stable element-wise sigmoid: ``1/(1+e^-k)`` where ``Re k >= 0``, else ``e^k/(1+e^k)``.

    The exponent is ``-|k|`` for real ``k`` (it never overflows); for complex ``k`` it is
    ``-k`` or ``k`` chosen on the real part rather than with ``abs``, which is analytic in
    ``k``, so the complex step (:mod:`scalarprop.testing`) differentiates it exactly.
    """
    right = k.real >= 0
    if np.iscomplexobj(k):
        # the same choice as -|k|, made analytically
        e = np.exp(np.where(right, -k, k))
        return np.where(right, 1.0 / (1.0 + e), e / (1.0 + e))
    e = np.abs(k, out=np.empty(np.shape(k)))  # an array also for 0-d k (abs gives a scalar)
    np.negative(e, out=e)
    np.exp(e, out=e)                            # e^-|k|, in place: no temporaries
    h = np.where(right, 1.0, e)
    h /= 1.0 + e                                # 1/(1+e^-k) or e^k/(1+e^k), as above
    return h


def activate_array(name: str, k: np.ndarray) -> np.ndarray:
    """h = act(k) over a batch; softmax works along the last axis."""
    if name == "sigmoid":
        return sigmoid_array(k)
    if name == "relu":
        return np.maximum(k, 0.0)
    if name == "tanh":
        return np.tanh(k)
    if name == "softmax":
        # shift by the largest real part: softmax is unchanged by any shift, and a shift
        # that is constant in k keeps the complex step exact
        z = k - k.real.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
    return k.copy()


def activate_grad_array(name: str, k: np.ndarray, h: np.ndarray, h_grad: np.ndarray
                        ) -> np.ndarray:
    """k_grad from h_grad: element-wise ``h_grad * act'(k)``; softmax uses its Jacobian,
    ``k_grad_j = y_j (h_grad_j - sum_i h_grad_i y_i)``."""
    if name == "sigmoid":
        k_grad = h_grad * h
        k_grad *= 1.0 - h                       # h' h (1 - h); in place: k_grad is new
        return k_grad
    if name == "relu":
        return h_grad * (k > 0)
    if name == "tanh":
        return h_grad * (1.0 - h * h)
    if name == "softmax":
        return h * (h_grad - (h_grad * h).sum(axis=-1, keepdims=True))
    return h_grad.copy()


def softplus_array(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z), stable for any z: ``z + log(1 + e^-z)`` where ``Re z > 0``, else
    ``log(1 + e^z)``. The exponent never overflows, and the choice is made on the real part
    (not with ``abs``/``maximum``) so that complex input stays analytic."""
    right = z.real > 0
    l = np.log1p(np.exp(np.where(right, -z, z)))
    return np.where(right, z + l, l)


def probability_grad_array(loss: str, Z: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``dl/dy`` of bce or ce for a batch, written in the output's logits ``Z`` so that it
    stays finite where ``y`` rounds to 0 or 1: ``-1/y = -(1 + e^-z)`` and
    ``1/(1-y) = 1 + e^z`` for bce (targets ``T`` in {0,1}), ``-1/y_t = -e^(logsumexp(z) - z_t)``
    at the target class for ce (``T`` a column of class indices), 0 elsewhere."""
    with np.errstate(over="ignore"):
        if loss == "bce":
            return np.where(T == 1.0, -(1.0 + np.exp(-Z)), 1.0 + np.exp(Z))
        m = Z.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True))
        target = np.arange(Z.shape[1]) == T[:, :1]
        return np.where(target, -np.exp(lse - Z), 0.0)


# -- array kernels (one compiled pass where numpy would make one temporary per operator) ------

# fastmath: the row sums of the bias may be reordered (vectorized); the kernel calls no
# function that other kernels share, which it would compile fastmath too
@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def activation_backward(code, H, G, K_grad, alpha, beta, out):
    """``K∇ = G ⊙ act'`` into ``K_grad`` with ``act'`` from ``H`` (``code``: SIGMOID, TANH or
    RELU; any other code: the identity, ``K∇`` is ``G`` itself and ``K_grad`` is not
    written), then ``out ← α Σₙ K∇ + β out`` per row, as BLAS writes ``C ← α A B + β C``:
    ``α = 1, β = 0`` gives ``b∇``; ``α = −lr, β = 1`` with ``out = b`` takes the step
    ``b ← b − lr·b∇`` (``out`` is not read when ``β = 0``)."""
    for j in range(G.shape[0]):
        total = 0.0
        if code == SIGMOID:
            for n in range(G.shape[1]):
                h = H[j, n]
                g = G[j, n] * (h * (1.0 - h))
                K_grad[j, n] = g
                total += g
        elif code == TANH:
            for n in range(G.shape[1]):
                h = H[j, n]
                g = G[j, n] * (1.0 - h * h)
                K_grad[j, n] = g
                total += g
        elif code == RELU:
            for n in range(G.shape[1]):
                g = G[j, n] if H[j, n] > 0.0 else 0.0
                K_grad[j, n] = g
                total += g
        else:
            for n in range(G.shape[1]):
                total += G[j, n]
        if beta == 0.0:
            out[j] = alpha * total
        else:
            out[j] = alpha * total + beta * out[j]


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_ce_from_exp(Z: np.ndarray, top: np.ndarray, t: np.ndarray, G: np.ndarray
                        ) -> float:
    """The summed cross-entropy ``Σₙ logsumexp(zₙ) − z_{n tₙ}`` of logits ``Z`` stored a class
    per row and an example per column, and its gradient ``G = softmax(Z) − onehot(t)`` (same
    layout), given ``top`` (each column's largest logit) and ``G = e^(Z − top)`` on entry
    (numpy's exp is SIMD; subtracting the largest logit keeps it from overflowing). ``t`` holds
    a class index per example as floats (``check_T``'s packing); one that is not an integer in
    ``[0, K)`` is refused before it is read."""
    K, N = Z.shape
    if t.shape[0] != N:
        raise ValueError("softmax_ce_from_exp: expected one class index per column of Z")
    for n in range(N):
        if t[n] != int(t[n]) or t[n] < 0 or t[n] >= K:
            raise ValueError("softmax_ce_from_exp: a class index is not an integer in [0, K)")
    s = np.zeros(N)
    for j in range(K):
        for n in range(N):
            s[n] += G[j, n]
    total = 0.0
    for n in range(N):
        total += math.log(s[n]) + top[n] - Z[int(t[n]), n]
    for j in range(K):
        for n in range(N):
            G[j, n] /= s[n]
    for n in range(N):
        G[int(t[n]), n] -= 1.0
    return total
