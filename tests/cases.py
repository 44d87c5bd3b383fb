"""Networks and batches for the tests: every activation/loss pair the contract allows."""

from __future__ import annotations

import numpy as np

from scalarprop import MLP
from scalarprop.autodiff import Op
from scalarprop.commands.options import random_targets
from scalarprop.examples import lecture_network

HIDDEN = ("sigmoid", "relu", "tanh", "identity")
#: (output, loss) pairs the network accepts
HEADS = (
    ("identity", "squared"), ("sigmoid", "squared"), ("softmax", "squared"),
    ("identity", "absolute"), ("sigmoid", "absolute"), ("softmax", "absolute"),
    ("sigmoid", "bce"), ("softmax", "ce"), ("identity", "hinge"),
)
SMOOTH_HEADS = tuple((o, l) for o, l in HEADS if l in ("squared", "bce", "ce"))


def make_case(hidden: str, output: str, loss: str, depth: int, seed: int = 0, n: int = 5,
              width: int = 4, d: int = 3):
    """A random network with ``depth`` hidden layers, non-zero biases, and a batch for it."""
    rng = np.random.default_rng(seed)
    K = 1 if loss == "hinge" else (3 if output == "softmax" else 2)
    sizes = [d] + [width] * depth + [K]
    net = MLP(sizes, hidden, output, loss, seed=seed)
    net.params[:] += rng.normal(scale=0.3, size=net.num_params)
    X = rng.normal(size=(n, d))
    T = random_targets(net, n, rng)
    return net, X, T


def lecture_data(n: int = 5):
    """The lecture's 2-3-1 network with its example first, then ``n - 1`` random inputs
    aiming at the same target."""
    net, x, t = lecture_network()
    rng = np.random.default_rng(1)
    X = np.vstack([x, rng.normal(size=(n - 1, 2))])
    T = np.vstack([t, np.full((n - 1, 1), 12.1)])
    return net, X, T


class Split(Op):
    """An op with two outputs: the first two entries of ``x`` and the rest."""

    name = "split"

    @staticmethod
    def forward(context, x):
        return x[:2].copy(), x[2:].copy()

    @staticmethod
    def backward(context, ga, gb):
        return np.concatenate([ga, gb])
