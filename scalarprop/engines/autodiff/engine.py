"""The autodiff engine: the engine contract (``loss_and_grad``, ``loss``, ``nodes``) computed
by building the MLP's graph and walking it backward.

The same batch conventions as the scalar and vectorized engines: the loss is summed over the
examples, the gradient has the layout of ``net.params``, bce and ce are differentiated from
the logits (``k∇ = y - t`` for the output layer), and the output's own gradient ``y∇`` is
``dl/dy`` of the loss written in terms of ``y``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...validate import check_batch
from .core import TensorNode
from .losses import FROM_PROBABILITIES
from .mlp import AutodiffMLP

name = "autodiff"


def loss_and_grad(net: Any, X: Any, T: Any) -> tuple[float, np.ndarray]:
    """The batch's summed loss and its gradient in the layout of ``net.params``."""
    Xc, Tc = check_batch(net, X, T)
    model = AutodiffMLP(net)
    model.grads_into(np.empty(net.num_params))     # W∇, b∇ computed in place, no copies
    l = model._checked_loss(TensorNode(Xc, requires_grad=False, name="x"), Tc)
    l.backward()
    return float(l.value), model.flat_grad()


def loss(net: Any, X: Any, T: Any) -> float:
    """The batch's summed loss: the forward pass alone (parameters as constants)."""
    Xc, Tc = check_batch(net, X, T)
    model = AutodiffMLP(net, requires_grad=False)
    return float(model._checked_loss(TensorNode(Xc, requires_grad=False, name="x"), Tc).value)


def nodes(net: Any, X: Any, T: Any) -> dict[str, Any]:
    """Every node's value and gradient per example, ``k1, h1, k1_grad, h1_grad, …`` (the
    last ``h`` is the output ``y``), with ``"loss"`` and ``"grad"``: the keys of
    ``scalar.nodes`` and ``vectorized.nodes``."""
    Xc, Tc = check_batch(net, X, T)
    model = AutodiffMLP(net)
    x = TensorNode(Xc, requires_grad=False, name="x")
    layers = model.layer_nodes(x)
    l = model.loss_from_layers(layers, Tc)
    l.backward()
    out: dict[str, Any] = {}
    for i, (k, h) in enumerate(layers, start=1):
        out[f"k{i}"], out[f"h{i}"] = k.value, h.value
        out[f"k{i}_grad"], out[f"h{i}_grad"] = k.grad, h.grad
    if net.loss in FROM_PROBABILITIES:
        # the loss went through the logits, not through y: dl/dy from the loss written in y
        L = len(layers)
        y = TensorNode(out[f"h{L}"], name="y")
        with np.errstate(divide="ignore"):
            FROM_PROBABILITIES[net.loss](y, Tc).backward()
        out[f"h{L}_grad"] = y.grad
    out["loss"] = float(l.value)
    out["grad"] = model.flat_grad()
    return out


def train_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
                lr: float, step_loss: np.ndarray) -> int:
    """One epoch of gradient descent on checked arrays, one graph per step (the
    :class:`~scalarprop.engines.Engine` contract)."""
    params = net.params
    for s in range((len(order) + batch_size - 1) // batch_size):
        idx = order[s * batch_size:(s + 1) * batch_size]
        with np.errstate(all="ignore"):       # a diverging run is reported, not warned
            step_loss[s], grad = loss_and_grad(net, X[idx], T[idx])
        if not (np.isfinite(step_loss[s]) and np.isfinite(grad).all()):
            return s
        params -= lr * grad
    return -1
