"""Compiled scalar functions, the public face: :mod:`scalarprop.engines.compiled` (Value,
tracing, the tape kernels), used as ``sp.compile(fn, *sizes)``::

    import scalarprop as sp
    cf = sp.compile(lambda x: 2 / (-x[0]).exp().sin(), 1)
    value, g = cf.grad([-1.0])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .engines.compiled import CompiledFunction, TracingError, Value, dot, where
from .explain.compiled import CompiledExplanation, explain_compiled

__all__ = ["compile", "Compiled", "CompiledExplanation", "TracingError", "Value", "dot",
           "where"]


class Compiled(CompiledFunction):
    """A compiled function with :meth:`explain` (the engine's function knows nothing of the
    explain tool; this public face joins them)."""

    def explain(self, *args: Any, input: Any = 0) -> CompiledExplanation:
        """``∂out/∂input`` at ``args`` as the lecture derives it: the local derivatives with
        the forward pass's numbers, every path and their sum (up to 64 paths, else the
        accumulated form), checked against the compiled backward and a finite difference.
        ``input``: an index into the first argument, ``(argument, index)`` or ``"x[0]"``."""
        return explain_compiled(self, args, input)


def compile(fn: Callable[..., Any], *sizes: int, backend: str = "auto"  # noqa: A001
            ) -> Compiled:
    """Trace ``fn`` once on one list of placeholder scalars per size (Python loops unroll;
    a branch on a value is a :class:`TracingError`) and return the compiled function:
    ``cf(*args)``, ``cf.grad``, ``cf.jvp``, ``cf.vjp``, ``cf.hvp``, ``cf.sgd_epoch``,
    ``cf.source``, ``cf.explain``. ``backend``: "tape", "codegen" (straight-line code for
    small graphs, compiled once per machine) or "auto" (codegen where a small graph's code is
    already compiled on disk, else the tape)."""
    return Compiled(fn, sizes, backend)
