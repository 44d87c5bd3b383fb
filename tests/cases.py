"""Networks and batches for the tests: every activation/loss pair the contract allows."""

from __future__ import annotations

import os
import subprocess
import sys

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


def sin_x2(x: np.ndarray) -> float:
    """A smooth function of a matrix whose gradient is known: ``f(x) = Σ sin(x)·x²``."""
    return np.sum(np.sin(x) * x**2)


def sin_x2_grad(x: np.ndarray) -> np.ndarray:
    """``∇f = cos(x)·x² + 2x·sin(x)``, the oracle the gradient checkers are held to."""
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


#: the point the checkers' tests look at
SIN_X = np.random.default_rng(5).normal(size=(3, 4))


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


def scalar_uncompiled(tmp_path, cases: list, function: str) -> list[dict]:
    """``scalar.<function>(net, X, T)`` for each case, run in a subprocess with
    ``NUMBA_DISABLE_JIT=1`` (the kernels as plain Python); one dict of arrays per case
    (``loss_and_grad`` gives ``loss`` and ``grad``)."""
    for i, (net, X, T) in enumerate(cases):
        np.savez(tmp_path / f"case{i}.npz", params=net.params, X=X, T=T, sizes=net.sizes,
                 hidden=net.hidden, output=net.output, loss=net.loss)
    code = (
        "import numpy as np, numba\n"
        "from scalarprop import MLP, scalar\n"
        "assert numba.config.DISABLE_JIT\n"
        f"for i in range({len(cases)}):\n"
        f"    f = np.load(r'{tmp_path}' + f'/case{{i}}.npz')\n"
        "    net = MLP(list(f['sizes']), str(f['hidden']), str(f['output']), str(f['loss']))\n"
        "    net.params[:] = f['params']\n"
        f"    out = scalar.{function}(net, f['X'], f['T'])\n"
        "    if isinstance(out, tuple):\n"
        "        out = {'loss': out[0], 'grad': out[1]}\n"
        f"    np.savez(r'{tmp_path}' + f'/out{{i}}.npz', **out)\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return [dict(np.load(tmp_path / f"out{i}.npz")) for i in range(len(cases))]
