"""The fused ops' element-wise work, each a single compiled pass: over a layer stored a unit
per row (lecture part 3: ``h = σ(k)``, ``k∇ = h∇ ⊙ σ'(k)``, ``b∇ = Σₙ k∇``), and the squared
error with its gradient.

numpy takes one pass over the layer per operator, each with a temporary array; these loops
take one pass for the whole line of the lecture, and keep nothing but ``H``: the derivative
comes from ``H`` as the lecture writes it (the sigmoid's ``h (1 − h)``, tanh's ``1 − h²``,
relu's ``[h > 0]``, which is ``[k > 0]``), so no ``act'(K)`` array is stored between the
forward and the backward. Measured side by side on a 64-unit sigmoid layer, batch 256
(AVX-512, one thread): the forward took 42.8 µs writing ``H`` and ``act'(K)`` beside ``K``
and 30.4 µs writing ``H`` over ``K``; the backward's ``K∇ = H∇ ⊙ act'`` and bias step took
7.0 µs as a numpy product and a ``dgemv`` with a vector of ones, and 3.9 µs in one pass
(:func:`scalarprop.functions.activation_backward`, which the vectorized engine's fast path
takes too).
"""

from __future__ import annotations

from numba import njit

from ... import jit  # noqa: F401  (first: the kernels below are cached by source hash)
from ...functions import sigmoid_simd


@njit(cache=True, nogil=True, error_model="numpy")
def sigmoid_rows_in_place(K, b):
    """``K ← σ(K + b)``, ``b[j]`` added to row ``j``: ``H`` written over ``K``.
    :func:`~scalarprop.functions.sigmoid_simd` makes no libm call, so LLVM vectorizes the
    loop."""
    for j in range(K.shape[0]):
        bj = b[j]
        for n in range(K.shape[1]):
            K[j, n] = sigmoid_simd(K[j, n] + bj)


@njit(cache=True, nogil=True, error_model="numpy")
def squared_error_pass(Y, T, Y_grad):
    """``Σ (Y − T)²``, returned, and ``Y∇ = 2 (Y − T)`` into ``Y_grad``, in one pass (numpy
    takes four: the difference, its square, the sum, the doubling). Measured side by side on
    2-3-1, batch 256 (AVX-512, the output 256 × 1): 3.36 µs in numpy, 0.86 µs in this pass."""
    total = 0.0
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            d = Y[i, j] - T[i, j]
            total += d * d
            Y_grad[i, j] = 2.0 * d
    return total
