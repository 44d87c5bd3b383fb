"""The pure-Python baseline: the lecture's loop pseudocode (slides 54-55) over Python lists.

One hidden sigmoid layer, as in the lecture, with an identity output and the squared loss or a
softmax output and the cross-entropy loss. Written as the fastest honest pure Python: rows as
lists, dot products with ``sum(map(mul, row, x))``, locals instead of attribute lookups, and the
update fused into the backward loops, so the baseline is not slowed by anything but being
Python. The benchmark's test checks that it computes the engines' loss and update.
"""

from __future__ import annotations

import math
from operator import mul


def sigmoid(k: float) -> float:
    if k >= 0.0:
        return 1.0 / (1.0 + math.exp(-k))
    e = math.exp(k)
    return e / (1.0 + e)


def sgd_step(W: list[list[float]], b: list[float], V: list[list[float]], c: list[float],
             x: list[float], t: list[float] | int, lr: float, softmax: bool) -> float:
    """One stochastic gradient descent step on one example, in place; returns the loss.

    ``W`` (hidden × input) and ``V`` (output × hidden) are lists of rows: the lecture's
    ``w[i,j]`` is ``W[j][i]``. ``t`` is a class index for softmax, else a list of targets.
    """
    # forward: k[j] = sum_i w[i,j] x[i] + b[j];  h = sigmoid(k);  y = V h + c
    h = [sigmoid(sum(map(mul, row, x)) + bj) for row, bj in zip(W, b)]
    y = [sum(map(mul, row, h)) + co for row, co in zip(V, c)]
    if softmax:
        m = max(y)
        e = [math.exp(yo - m) for yo in y]
        s = sum(e)
        loss = math.log(s) + m - y[t]
        y_grad = [eo / s for eo in e]
        y_grad[t] -= 1.0                     # dl/dy = softmax(y) - onehot(t), from the logits
    else:
        loss = sum((yo - to) ** 2 for yo, to in zip(y, t))
        y_grad = [2.0 * (yo - to) for yo, to in zip(y, t)]
    # backward: h'[i] = sum_o y'[o] v[o,i] (old V);  v[o,i] -= lr y'[o] h[i];  c -= lr y'
    h_grad = [0.0] * len(h)
    for o, row in enumerate(V):
        g = y_grad[o]
        for i in range(len(row)):
            h_grad[i] += g * row[i]
            row[i] -= lr * g * h[i]
        c[o] -= lr * g
    # k'[j] = h'[j] h[j] (1 - h[j]);  w[i,j] -= lr k'[j] x[i];  b[j] -= lr k'[j]
    for j, row in enumerate(W):
        g = h_grad[j] * h[j] * (1.0 - h[j])
        a = lr * g
        for i in range(len(row)):
            row[i] -= a * x[i]
        b[j] -= a
    return loss


def from_network(net) -> tuple[list[list[float]], list[float], list[list[float]], list[float]]:
    """The lists ``W, b, V, c`` of a one-hidden-layer :class:`~scalarprop.MLP`."""
    return (net.weights(0).tolist(), net.biases(0).tolist(), net.weights(1).tolist(),
            net.biases(1).tolist())


def to_params(W, b, V, c) -> list[float]:
    """Flatten back into the network's layout (W0, b0, W1, b1)."""
    return [v for row in W for v in row] + list(b) + [v for row in V for v in row] + list(c)
