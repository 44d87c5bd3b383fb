"""Compiled scalar backpropagation (lecture parts 2 and 4): any function written over scalar
:class:`Value` nodes, eager for teaching, or traced once into a graph of scalar operations
and run by compiled Numba kernels::

    import scalarprop as sp

    def f(x):
        return 2 / (-x[0]).exp().sin()

    cf = sp.compile(f, 1)
    cf([-1.0]), cf.grad([-1.0]), cf.jvp([-1.0], [1.0])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .function import CompiledFunction
from .trace import TracingError, dot, where
from .value import Value


def compile(fn: Callable[..., Any], *sizes: int, backend: str = "auto"  # noqa: A001
            ) -> CompiledFunction:
    """Trace ``fn`` once, on one list of placeholder scalars per size, into a program run by
    the precompiled tape kernels. ``fn`` returns a Value, or a list of them. ``backend``:
    "tape", "codegen" (straight-line code for small graphs, compiled once per machine) or
    "auto" (codegen where a small graph's code is already compiled on disk, else the tape)."""
    return CompiledFunction(fn, sizes, backend)


__all__ = ["Value", "compile", "CompiledFunction", "TracingError", "dot", "where"]
