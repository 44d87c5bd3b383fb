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

__all__ = ["compile", "CompiledFunction", "TracingError", "Value", "dot", "where"]


def compile(fn: Callable[..., Any], *sizes: int, backend: str = "auto"  # noqa: A001
            ) -> CompiledFunction:
    """Trace ``fn`` once on one list of placeholder scalars per size (Python loops unroll;
    a branch on a value is a :class:`TracingError`) and return the compiled function:
    ``cf(*args)``, ``cf.grad``, ``cf.jvp``, ``cf.vjp``, ``cf.hvp``, ``cf.sgd_epoch``,
    ``cf.source``. ``backend``: "tape", "codegen" (straight-line code for small graphs,
    compiled once per machine) or "auto" (codegen where a small graph's code is already
    compiled on disk, else the tape)."""
    return CompiledFunction(fn, sizes, backend)
