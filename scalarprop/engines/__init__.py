"""The engines: one :class:`Engine` protocol, and :func:`get_engine` to pick one by name.

Every engine computes the same network (lecture parts 2, 3 and 4) and answers the same
questions with the same signatures, so a tool (train, check, explain, draw) names an engine
and never needs to know how it computes. A single example is a batch of one; the loss of a
batch is the sum of its examples' losses; a gradient has the layout of ``net.params``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from . import autodiff, scalar, vectorized


@runtime_checkable
class Engine(Protocol):
    """What every engine offers (the engine modules implement it at module level)."""

    name: str

    def loss(self, net: Any, X: Any, T: Any) -> float:
        """The batch's summed loss: the forward pass alone."""
        ...

    def loss_and_grad(self, net: Any, X: Any, T: Any) -> tuple[float, np.ndarray]:
        """The batch's summed loss and its gradient in the layout of ``net.params``."""
        ...

    def nodes(self, net: Any, X: Any, T: Any) -> dict[str, Any]:
        """Every node's value and gradient per example, with ``"loss"`` and ``"grad"``: layer
        l's ``k{l}``, ``h{l}`` (``h{L}`` is the output y), ``k{l}_grad``, ``h{l}_grad``, each of
        shape ``(examples, units)``. Unit j of ``h1`` is the node ``"h1[j]"`` of the node ids
        that explain, draw and the explorer page share (:mod:`scalarprop.explain.names`)."""
        ...

    def train_epoch(self, net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray,
                    batch_size: int, lr: float, step_loss: np.ndarray) -> int:
        """One epoch of gradient descent on arrays checked by ``check_batch``: the batches
        ``X[order[s*B:(s+1)*B]]``, each loss written to ``step_loss[s]``. Returns -1, or the
        first step whose loss or gradient is not finite or whose update makes a parameter NaN
        or inf, with ``net.params`` as they were before that step (every engine's is wrapped
        in :func:`scalarprop.validate.finite_updates` for the last part)."""
        ...


#: every engine by its name; each module implements :class:`Engine`
ENGINES: dict[str, Engine] = {"scalar": scalar, "vectorized": vectorized,  # type: ignore
                              "autodiff": autodiff}
ENGINE_NAMES = tuple(ENGINES)


def get_engine(name: str) -> Engine:
    """The engine called ``name`` ("scalar", "vectorized" or "autodiff")."""
    if name not in ENGINES:
        raise ValueError(f"engine={name!r}: unknown engine; expected one of "
                         f"{list(ENGINE_NAMES)}")
    return ENGINES[name]
