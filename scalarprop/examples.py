"""Ready-made networks from the lecture, with the numbers of its slides."""

from __future__ import annotations

import numpy as np

from .network import MLP


def lecture_network() -> tuple[MLP, np.ndarray, np.ndarray]:
    """The 2-3-1 sigmoid network of slides 41-53 and one example ``(x, t)``.

    Its forward pass gives ``h₂ = .99`` (``k₂ = logit(.99)``) and ``y = 10.1``; with
    ``t = 12.1`` the loss is 4 and ``∂l/∂v₂ = 2(y − t)·h₂ = −3.96`` (slide 43). As in the
    slides' intuition (53), ``x₁`` and ``v₂`` are negative. In scalarprop's names the lecture's
    ``w₁₂`` is ``W0[1,0]``, ``v₂`` is ``W1[0,1]``, ``b₂`` is ``b0[1]`` and ``c`` is ``b1[0]``.
    """
    net = MLP([2, 3, 1], hidden="sigmoid", output="identity", loss="squared", seed=0)
    x = np.array([-1.0, 2.0])
    W, b = net.weights(0), net.biases(0)
    W[:] = [[0.3, -0.2], [0.5, 1.0], [-0.4, 0.1]]
    k2 = np.log(0.99 / 0.01)                       # logit(.99): h2 = sigma(k2) = .99
    b[:] = [0.1, k2 - (W[1] @ x), -0.2]
    V, c = net.weights(1), net.biases(1)
    V[:] = [[1.5, -2.0, 3.0]]
    k = W @ x + b
    h = 1.0 / (1.0 + np.exp(-k))
    c[:] = 10.1 - V[0] @ h                         # so that y = 10.1
    return net, x, np.array([12.1])
