"""The speedup-from-vectorizing benchmark suite (``scalarprop bench``, ``benchmarks/``)."""

from .run import run_suite

__all__ = ["run_suite"]
