"""Compiled scalar backpropagation (lecture parts 2 and 4): any function written over scalar
:class:`Value` nodes, eager for teaching, or traced once into a graph of scalar operations
and run by a compiled Numba kernel."""

from .value import Value

__all__ = ["Value"]
