"""The engines by name. Each offers ``loss_and_grad(net, X, T)``, ``loss(net, X, T)`` and
``nodes(net, X, T)``; callers pick one with a string so that reports can name it."""

from __future__ import annotations

from types import SimpleNamespace

ENGINE_NAMES = ("scalar", "vectorized", "autodiff")


def get_engine(name: str) -> SimpleNamespace:
    """The engine called ``name`` ("scalar", "vectorized" or "autodiff")."""
    if name == "scalar":
        from . import scalar

        return SimpleNamespace(name=name, loss_and_grad=scalar.loss_and_grad,
                               loss=scalar.loss, nodes=scalar.nodes)
    if name == "vectorized":
        from . import vectorized

        return SimpleNamespace(name=name, loss_and_grad=vectorized.loss_and_grad,
                               loss=vectorized.loss_only, nodes=vectorized.nodes)
    if name == "autodiff":
        from . import autodiff

        return SimpleNamespace(name=name, loss_and_grad=autodiff.loss_and_grad,
                               loss=autodiff.loss, nodes=autodiff.nodes)
    raise ValueError(f"engine={name!r}: unknown engine; expected one of {list(ENGINE_NAMES)}")
