"""Calling ``f`` for the oracle: on a private copy, one element moved at a time, every result
checked (shape, dtype, finiteness), and ``f`` caught if it writes into its argument."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .arguments import NotComplexSafeError, index_text

# numpy >= 1.25 moved it to np.exceptions
COMPLEX_WARNING = np.exceptions.ComplexWarning if hasattr(np, "exceptions") \
    else np.ComplexWarning

NOT_SAFE_HINT = ("typical causes: abs()/np.abs, np.sign, np.conj, .real, float(), math.* "
                 "functions, np.asarray(..., dtype=float), writing into a float array, or a "
                 "kink (max, relu) exactly at x. Write f with complex-safe numpy operations, "
                 "or use numerical_gradient (finite differences) instead")


def where(shape: tuple[int, ...], i: int, sign: str, step: Any) -> str:
    """How a report names the point ``x ± step`` at flat element ``i``."""
    return f"(x{sign}{step:.3g} at {index_text(np.unravel_index(i, shape))})"


class Evaluator:
    """Calls ``f`` on a private working copy of ``x`` that it perturbs one element at a time,
    and checks every result against the shape of the first one."""

    def __init__(self, f: Callable, x: np.ndarray, dtype: Any, scalar: bool,
                 complex_probe: bool = False) -> None:
        self.f, self.shape, self.scalar = f, x.shape, scalar
        self.x0 = x.ravel()
        self.w = self.x0.astype(dtype)
        self.complex_probe = complex_probe
        self.out_shape: tuple[int, ...] | None = None
        self.real_typed = False           # a complex input gave a real output somewhere

    def call(self, arg: np.ndarray) -> Any:
        if not self.complex_probe:
            return self.f(arg)
        with warnings.catch_warnings():
            warnings.simplefilter("error", COMPLEX_WARNING)
            try:
                return self.f(arg)
            except COMPLEX_WARNING:
                raise NotComplexSafeError(
                    "complex_step_gradient: f casts its complex input to real (numpy "
                    "warned 'Casting complex values to real discards the imaginary part'); "
                    + NOT_SAFE_HINT) from None
            except TypeError as exc:
                raise NotComplexSafeError(
                    f"complex_step_gradient: f fails on complex input ({exc}); "
                    + NOT_SAFE_HINT) from None

    def __call__(self, where: str) -> np.ndarray:
        out = self.call(self.w.reshape(self.shape))
        try:
            o = np.asarray(out)
        except Exception as exc:
            raise ValueError(f"f{where} returned {type(out).__name__}, not a number or array "
                             f"({exc})") from None
        if o.dtype.kind not in "biufc":
            raise ValueError(f"f{where} returned dtype {o.dtype}; expected real numbers")
        if self.scalar:
            if o.size != 1:
                raise ValueError(f"f{where} returned shape {o.shape}: a gradient needs a scalar "
                                 "f (use numerical_jacobian or assert_vjp_close for "
                                 "vector-valued f)")
            o = o.reshape(())
        if self.out_shape is None:
            self.out_shape = o.shape
        elif o.shape != self.out_shape:
            raise ValueError(f"f{where} returned shape {o.shape}, but f(x) has shape "
                             f"{self.out_shape}")
        if self.complex_probe:
            return self.complex_result(o, where)
        if o.dtype.kind == "c":
            raise ValueError(f"f{where} returned complex values ({o.dtype}); finite "
                             "differences need a real f")
        o = o.astype(np.float64)
        if not np.isfinite(o).all():
            raise ValueError(f"f{where} is not finite ({o[~np.isfinite(o)].ravel()[0]}): the "
                             "step leaves f's domain; pass a smaller eps")
        return o

    def complex_result(self, o: np.ndarray, where: str) -> np.ndarray:
        if o.dtype.kind != "c":
            self.real_typed = True
            o = o.astype(np.complex128)
        bad = ~np.isfinite(o.real)
        if bad.any():
            raise ValueError(f"f{where} is not finite ({o.real[bad].ravel()[0]})")
        if not np.isfinite(o.imag).all():
            raise NotComplexSafeError(
                f"complex_step_gradient: the imaginary part of f{where} is NaN or inf: f "
                "is not complex-safe; " + NOT_SAFE_HINT)
        return o.astype(np.complex128)

    def at(self, i: int, value: Any, where: str) -> np.ndarray:
        """``f`` with element ``i`` (flat) set to ``value``, restored afterwards."""
        self.w[i] = value
        try:
            return self(where)
        finally:
            self.w[i] = self.x0[i]

    def check_untouched(self) -> None:
        if not np.array_equal(self.w, self.x0):
            raise ValueError("f modified its argument in place; the derivatives are "
                             "meaningless (copy the array inside f)")
