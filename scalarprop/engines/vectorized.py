"""Part 3 of the lecture: the same network as matrix operations over a batch.

With a batch ``X`` of shape ``(n, d)`` as rows (slides 68-79, transposed for row examples)::

    forward                      backward
    K = X Wᵀ + b                 Y∇ = dl/dY                 (2 (Y - T) for the squared loss)
    H = σ(K)                     K∇ = Y∇ ⊙ σ'(K)            (Y - T for bce and ce, from logits)
    ...                          V∇ = K∇ᵀ H,   c∇ = Σₙ K∇
    Y = act(H Vᵀ + c)            H∇ = K∇ V
                                 K∇ = H∇ ⊙ H ⊙ (1 - H)      (the sigmoid's σ' = h (1 - h))
                                 W∇ = K∇ᵀ X,   b∇ = Σₙ K∇

No Python loop over units or examples; one loop over layers. The gradient is the sum over the
batch (the lecture's convention), in the layout of ``net.params``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functions as F
from ..validate import check_batch, finite_updates

name = "vectorized"


def forward(net: Any, X: np.ndarray, params: np.ndarray | None = None
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(K, H) for each layer]`` for a checked batch ``X``; the last H is the output Y.

    ``params`` (a flat vector in the layout of ``net.params``, of any dtype) replaces the
    network's own parameters; see :func:`loss_at`."""
    layers = []
    src = X
    for l in range(net.num_layers):
        if params is None:
            W, b = net.weights(l), net.biases(l)
        else:
            w_slice, b_slice = net.layer_slices(l)
            W, b = params[w_slice].reshape(net.sizes[l + 1], net.sizes[l]), params[b_slice]
        K = src @ W.T
        K += b                                  # in place: K is new, no second array
        H = F.activate_array(net.output if l == net.num_layers - 1 else net.hidden, K)
        layers.append((K, H))
        src = H
    return layers


def loss_from_outputs(net: Any, Z: np.ndarray, Y: np.ndarray, T: np.ndarray) -> float:
    """The summed loss from the output's logits ``Z`` and values ``Y`` (targets packed by
    :func:`~scalarprop.validate.check_T`)."""
    return float(_loss_sum(net, Z, Y, T))


def _loss_sum(net: Any, Z: np.ndarray, Y: np.ndarray, T: np.ndarray) -> Any:
    # a numpy scalar of Z's dtype: complex input stays complex for squared, bce and ce
    if net.loss == "squared":
        return ((Y - T) ** 2).sum()
    if net.loss == "absolute":
        return np.abs(Y - T).sum()
    if net.loss == "bce":
        return (F.softplus_array(Z) - Z * T).sum()
    if net.loss == "ce":
        # log-sum-exp shifted by the largest real part (constant in Z: analytic for complex Z)
        m = Z.real.max(axis=1)
        lse = m + np.log(np.exp(Z - m[:, None]).sum(axis=1))
        return (lse - Z[np.arange(Z.shape[0]), T[:, 0].astype(np.intp)]).sum()
    return np.maximum(0.0, 1.0 - T * Y).sum()  # hinge


def output_grads(net: Any, Z: np.ndarray, Y: np.ndarray, T: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(Y∇, Z∇)``: the loss's gradient for the outputs and for the output layer's ``k``."""
    if net.loss == "squared":
        Y_grad = 2.0 * (Y - T)
    elif net.loss == "absolute":
        Y_grad = np.sign(Y - T)
    elif net.loss == "bce":
        return F.probability_grad_array("bce", Z, T), Y - T
    elif net.loss == "ce":
        onehot = np.zeros_like(Y)
        onehot[np.arange(Y.shape[0]), T[:, 0].astype(np.intp)] = 1.0
        Y_grad = F.probability_grad_array("ce", Z, T)
        return Y_grad, Y - onehot
    else:  # hinge
        Y_grad = np.where(1.0 - T * Y > 0.0, -T, 0.0)
    return Y_grad, F.activate_grad_array(net.output, Z, Y, Y_grad)


def backward(net: Any, X: np.ndarray, T: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]
             ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The gradient (flat, summed over the batch) and ``[(K∇, H∇) for each layer]``."""
    grad = np.empty(net.num_params)
    node_grads: list[tuple[np.ndarray, np.ndarray]] = [None] * net.num_layers  # type: ignore
    Z, Y = layers[-1]
    H_grad, K_grad = output_grads(net, Z, Y, T)
    for l in range(net.num_layers - 1, -1, -1):
        node_grads[l] = (K_grad, H_grad)
        src = X if l == 0 else layers[l - 1][1]
        w_slice, b_slice = net.layer_slices(l)
        # W∇ = K∇ᵀ X and b∇ = Σₙ K∇, written straight into the flat gradient
        np.matmul(K_grad.T, src, out=grad[w_slice].reshape(net.sizes[l + 1], net.sizes[l]))
        np.sum(K_grad, axis=0, out=grad[b_slice])
        if l > 0:
            K_below, H_below = layers[l - 1]
            H_grad = K_grad @ net.weights(l)          # H∇ = K∇ W
            K_grad = F.activate_grad_array(net.hidden, K_below, H_below, H_grad)
    return grad, node_grads


def loss_and_grad(net: Any, X: Any, T: Any) -> tuple[float, np.ndarray]:
    """The batch's summed loss and its gradient in the layout of ``net.params``."""
    Xc, Tc = check_batch(net, X, T)
    layers = forward(net, Xc)
    Z, Y = layers[-1]
    grad, _ = backward(net, Xc, Tc, layers)
    return loss_from_outputs(net, Z, Y, Tc), grad


def nodes(net: Any, X: Any, T: Any) -> dict[str, Any]:
    """Every node's value and gradient per example, named as :func:`scalar.split_nodes`
    names them, with ``"loss"`` and ``"grad"``."""
    Xc, Tc = check_batch(net, X, T)
    layers = forward(net, Xc)
    Z, Y = layers[-1]
    grad, node_grads = backward(net, Xc, Tc, layers)
    out: dict[str, Any] = {}
    for l, ((K, H), (K_grad, H_grad)) in enumerate(zip(layers, node_grads), start=1):
        out[f"k{l}"], out[f"h{l}"] = K, H
        out[f"k{l}_grad"], out[f"h{l}_grad"] = K_grad, H_grad
    out["loss"] = loss_from_outputs(net, Z, Y, Tc)
    out["grad"] = grad
    return out


def loss(net: Any, X: Any, T: Any) -> float:
    """The batch's summed loss: the forward pass alone."""
    Xc, Tc = check_batch(net, X, T)
    Z, Y = forward(net, Xc)[-1]
    return loss_from_outputs(net, Z, Y, Tc)


#: the pieces whose array forms are analytic (complex-safe); relu, |y - t| and the hinge use
#: abs/maximum and are not
COMPLEX_SAFE = {"hidden": ("sigmoid", "tanh", "identity"),
                "output": ("identity", "sigmoid", "softmax"),
                "loss": ("squared", "bce", "ce")}


def complex_unsafe_parts(net: Any) -> list[str]:
    """The pieces of this network that are not analytic (``hidden='relu'``, ...); a network
    without hidden layers has no hidden activation to count."""
    parts = [f"{kind}={getattr(net, kind)!r}" for kind in ("hidden", "output", "loss")
             if getattr(net, kind) not in COMPLEX_SAFE[kind]]
    return [p for p in parts if not (p.startswith("hidden") and net.num_layers == 1)]


def complex_safe(net: Any) -> bool:
    """Whether :func:`loss_at` may be given complex parameters for this network."""
    return not complex_unsafe_parts(net)


def loss_at(net: Any, params: Any, X: Any, T: Any) -> float | complex:
    """The batch's summed loss with the parameters ``params`` in place of ``net.params``
    (which are neither read nor changed).

    ``params`` is a flat vector in the layout of ``net.params``, float64 or complex128. For
    float64 the result is the same float :func:`loss` gives for those parameters. For
    complex parameters the forward pass is analytic in them for the smooth pieces (hidden
    sigmoid/tanh/identity, outputs identity/sigmoid/softmax, losses squared/bce/ce), so
    ``Im loss_at(net, θ + i h e_q, X, T) / h`` is ``∂l/∂θ_q`` to rounding: the complex
    step. Other networks get a ``ValueError`` for complex parameters.
    """
    Xc, Tc = check_batch(net, X, T)
    try:
        p = np.asarray(params)
    except Exception as exc:
        raise ValueError(f"params: cannot be read as a numeric array ({exc})") from None
    if p.shape != (net.num_params,):
        raise ValueError(f"params: expected shape ({net.num_params},) for this network, got "
                         f"{p.shape}")
    if p.dtype.kind not in "biufc":
        raise ValueError(f"params: dtype {p.dtype} is not numeric; expected float64 or "
                         "complex128")
    if not np.isfinite(p).all():
        i = int(np.argmax(~np.isfinite(p)))
        raise ValueError(f"params[{i}] = {p[i]}: expected finite values")
    if p.dtype.kind == "c":
        if not complex_safe(net):
            raise ValueError(
                f"params: complex parameters need a complex-safe network (hidden in "
                f"{COMPLEX_SAFE['hidden']}, loss in {COMPLEX_SAFE['loss']}); "
                f"hidden={net.hidden!r}, loss={net.loss!r} use abs/maximum, which drop the "
                "imaginary part")
        p = np.ascontiguousarray(p, dtype=np.complex128)
        Z, Y = forward(net, Xc, p)[-1]
        return complex(_loss_sum(net, Z, Y, Tc))
    p = np.ascontiguousarray(p, dtype=np.float64)
    Z, Y = forward(net, Xc, p)[-1]
    return loss_from_outputs(net, Z, Y, Tc)


@finite_updates
def train_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
                lr: float, step_loss: np.ndarray) -> int:
    """One epoch of gradient descent on checked arrays: :func:`lecture_epoch`'s steps, run
    by :mod:`~scalarprop.engines.vectorized_fast` (the same equations with the update folded
    into the gradient GEMM and the element-wise work fused; tested equal within 1e-12)."""
    # imported here: the fast form imports this module for its fallback
    from .vectorized_fast import train_epoch as fast_epoch

    return fast_epoch(net, X, T, order, batch_size, lr, step_loss)


def lecture_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray,
                  batch_size: int, lr: float, step_loss: np.ndarray) -> int:
    """One epoch of gradient descent (slide 18) on checked arrays, the readable way: a minibatch
    ``X[order[s*B:(s+1)*B]]`` per step: forward, loss, backward, ``θ ← θ − α ∇θ``. Returns
    -1, or the first step whose loss or gradient is not finite (its update is not applied)."""
    n = order.shape[0]
    params = net.params
    # unshuffled data: batches are views of X, no gather copy (1.6 MB a step on 784-128-10)
    in_order = bool(np.array_equal(order, np.arange(n)))
    for s in range((n + batch_size - 1) // batch_size):
        if in_order:
            lo, hi = s * batch_size, (s + 1) * batch_size
            Xb, Tb = X[lo:hi], T[lo:hi]
        else:
            idx = order[s * batch_size:(s + 1) * batch_size]
            Xb, Tb = X[idx], T[idx]
        with np.errstate(all="ignore"):       # a diverging run is reported, not warned
            layers = forward(net, Xb)
            Z, Y = layers[-1]
            step_loss[s] = loss_from_outputs(net, Z, Y, Tb)
            grad, _ = backward(net, Xb, Tb, layers)
        if not (np.isfinite(step_loss[s]) and np.isfinite(grad).all()):
            return s
        params -= lr * grad
    return -1
