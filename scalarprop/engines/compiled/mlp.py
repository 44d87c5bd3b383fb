"""The lecture's MLP forward pseudocode (slide 54) written over scalars, for any sizes,
activations and loss, with the parameters in one flat vector laid out as
:class:`~scalarprop.network.MLP` lays out ``net.params`` (per layer ``W`` row by row, then
``b``). Compiled, it is the scalar engine's network; its gradient is slide 55's walk.

bce and ce are written from the logits ``z`` as the engines do (no ``log(y)``):
``bce = relu(z) + log(1 + e^-|z|) − z t`` and ``ce = log Σ e^k − Σ t k`` (``t`` one-hot).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

ACTIVATE = {"identity": lambda k: k, "sigmoid": lambda k: k.sigmoid(),
            "relu": lambda k: k.relu(), "tanh": lambda k: k.tanh()}


def mlp_loss(sizes: Sequence[int], hidden: str = "sigmoid", output: str = "identity",
             loss: str = "squared") -> Callable[[Any, Any, Any], Any]:
    """``f(w, x, t)``: the loss of one example; ``w`` all parameters, ``x`` the input, ``t``
    the target (one-hot for ce). Compile it with ``compile(f, P, sizes[0], sizes[-1])``."""
    sizes = tuple(sizes)

    def mlp(w: Any, x: Any, t: Any) -> Any:
        p = 0
        h = list(x)
        for l in range(len(sizes) - 1):
            n_in, n_out = sizes[l], sizes[l + 1]
            b = p + n_out * n_in
            k = [0.0] * n_out
            for j in range(n_out):                          # slide 54, loop for loop
                for i in range(n_in):
                    k[j] += w[p + j * n_in + i] * h[i]
                k[j] += w[b + j]
            p = b + n_out
            if l < len(sizes) - 2:
                h = [ACTIVATE[hidden](k[i]) for i in range(n_out)]
        return loss_of(k, t, output, loss)

    return mlp


def output_layer(k: list[Any], output: str) -> list[Any]:
    if output == "softmax":
        e = [kj.exp() for kj in k]
        total = sum(e[1:], e[0])
        return [ej / total for ej in e]
    return [ACTIVATE[output](kj) for kj in k]


def loss_of(k: list[Any], t: Any, output: str, loss: str) -> Any:
    """The loss of one example from the output layer's pre-activations ``k``."""
    if loss == "bce":
        z = k[0]
        return z.relu() + (1.0 + (-z.abs()).exp()).log() - z * t[0]
    if loss == "ce":
        e = [kj.exp() for kj in k]
        log_total = sum(e[1:], e[0]).log()
        return log_total - sum((t[j] * k[j] for j in range(1, len(k))), t[0] * k[0])
    y = output_layer(k, output)
    if loss == "hinge":
        return (1.0 - t[0] * y[0]).relu()
    terms = [(y[j] - t[j]) ** 2 if loss == "squared" else (y[j] - t[j]).abs()
             for j in range(len(y))]
    return sum(terms[1:], terms[0])
