"""Modules: parameters together with the ops that use them (lecture part 4, slide 117).

A module has a ``forward`` but no backward: it chains ops, and backpropagation runs through
the ops' own backwards, so it makes no difference whether a computation sits in a module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...network import glorot_uniform
from .core import TensorNode, as_value
from .layer import linear


class Module:
    """Base class: ``module(x)`` calls ``forward(x)``; :meth:`parameters` finds the
    TensorNodes that require a gradient among the attributes, and those of sub-modules
    (also inside lists and tuples)."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def parameters(self) -> list[TensorNode]:
        """The parameter nodes, each once, in the order the attributes were set."""
        out: list[TensorNode] = []
        seen: set[int] = set()
        stack: list[Any] = [self]
        while stack:
            obj = stack.pop()
            if isinstance(obj, TensorNode):
                if obj.requires_grad and id(obj) not in seen:
                    seen.add(id(obj))
                    out.append(obj)
            elif isinstance(obj, Module):
                stack.extend(reversed(list(vars(obj).values())))
            elif isinstance(obj, (list, tuple)):
                stack.extend(reversed(obj))
        return out

    def zero_grad(self) -> None:
        """Forget the parameters' gradients (before the next backward: they add up)."""
        for p in self.parameters():
            p.grad = None

    def step(self, lr: float) -> None:
        """One gradient descent step on every parameter, in place: ``θ ← θ - lr θ∇``."""
        for p in self.parameters():
            p.value -= lr * p.grad


class Linear(Module):
    """One layer's linear part, ``k = x Wᵀ + b`` for a batch ``x`` of shape (n, n_in)
    (slide 68, examples as rows), with ``W`` of shape (n_out, n_in) and ``b`` of (n_out,).

    Args:
        n_in, n_out: the layer's sizes.
        W, b: the parameter arrays to use. Float64 arrays are used as they are, not copied: a
            view into a network's flat buffer makes the module read and write that network.
            Left out: ``W`` is drawn Glorot-uniform (as :class:`scalarprop.MLP` does) and
            ``b`` starts at zero.
        seed: seed for that initialisation.
        name: suffix of the parameter nodes' names (``W0``, ``b0``).
    """

    def __init__(self, n_in: int, n_out: int, *, W: Any = None, b: Any = None,
                 seed: int | None = None, name: str = "") -> None:
        if W is None:
            W = glorot_uniform(np.random.default_rng(seed), n_in, n_out)
        if b is None:
            b = np.zeros(n_out)
        W, b = as_value(W, "W"), as_value(b, "b")
        if W.shape != (n_out, n_in):
            raise ValueError(f"W: expected shape ({n_out}, {n_in}), got {W.shape}")
        if b.shape != (n_out,):
            raise ValueError(f"b: expected shape ({n_out},), got {b.shape}")
        self.W = TensorNode(W, name=f"W{name}")
        self.b = TensorNode(b, name=f"b{name}")

    def forward(self, x: Any) -> TensorNode:
        # one op for x @ W.T + b, same numbers (see the linear op)
        return linear(x, self.W, self.b)
