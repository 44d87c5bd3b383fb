"""Networks and batches for the tests: every activation/loss pair the contract allows."""

from __future__ import annotations

import numpy as np

from scalarprop import MLP
from scalarprop.autodiff import Op
from scalarprop.examples import lecture_network

HIDDEN = ("sigmoid", "relu", "tanh", "identity")
#: (output, loss) pairs the network accepts
HEADS = (
    ("identity", "squared"), ("sigmoid", "squared"), ("softmax", "squared"),
    ("identity", "absolute"), ("sigmoid", "absolute"), ("softmax", "absolute"),
    ("sigmoid", "bce"), ("softmax", "ce"), ("identity", "hinge"),
)
SMOOTH_HEADS = tuple((o, l) for o, l in HEADS if l in ("squared", "bce", "ce"))


def targets(loss: str, n: int, K: int, rng: np.random.Generator) -> np.ndarray:
    if loss == "ce":
        return rng.integers(0, K, size=n)
    if loss == "bce":
        return rng.integers(0, 2, size=(n, K)).astype(float)
    if loss == "hinge":
        return rng.choice([-1.0, 1.0], size=(n, 1))
    return rng.normal(size=(n, K))


def make_case(hidden: str, output: str, loss: str, depth: int, seed: int = 0, n: int = 5,
              width: int = 4, d: int = 3):
    """A random network with ``depth`` hidden layers, non-zero biases, and a batch for it."""
    rng = np.random.default_rng(seed)
    K = 1 if loss == "hinge" else (3 if output == "softmax" else 2)
    sizes = [d] + [width] * depth + [K]
    net = MLP(sizes, hidden, output, loss, seed=seed)
    net.params[:] += rng.normal(scale=0.3, size=net.num_params)
    X = rng.normal(size=(n, d))
    T = targets(loss, n, K, rng)
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
