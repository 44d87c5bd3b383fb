"""The complex step: ``Im f(x + i h eᵢ) / h``, exact to rounding, for complex-safe ``f``.

There is no difference of nearby numbers, so nothing cancels and ``h = 1e-30`` is fine. It
needs ``f`` to be analytic in ``x`` as numpy computes it: no ``abs``, ``maximum``, ``.real``,
``float()`` or writing into a float array. Such functions are refused with
:class:`NotComplexSafeError` (a ``ValueError``) rather than answered wrongly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .arguments import NotComplexSafeError, U, as_real, check_f, index_text
from .evaluator import NOT_SAFE_HINT, Evaluator, where

#: the step of the 4th-order differences that verify the complex step
VERIFY_STEP = U ** (1 / 5)
#: the complex step's estimated error, in units of u times the gradient's scale: rounding in
#: the derivative's own sums (they cancel no more than backprop's do)
ERROR_UNITS = 32.0


def check_h(h: Any) -> float:
    if isinstance(h, bool) or not isinstance(h, (int, float, np.floating)) \
            or not np.isfinite(h) or not 0 < h < 1e-3:
        raise ValueError(f"h={h!r}: expected a step 0 < h < 1e-3 (1e-30 is usual: the "
                         "complex step has no cancellation, so smaller is not worse)")
    return float(h)


def complex_step_error(numeric: np.ndarray) -> np.ndarray:
    """The complex step's estimated error per element: rounding only, ``ERROR_UNITS · u ·
    (|∂ᵢf| + max|∂f|)`` (no truncation: the O(h²) term is below rounding at h = 1e-30)."""
    return ERROR_UNITS * U * (np.abs(numeric) + np.abs(numeric).max(initial=0.0))


def complex_step(f: Callable, x: np.ndarray, h: float, scalar: bool, verify: bool
                 ) -> np.ndarray:
    """``J[out + in] = Im f(x + i h e_in)[out] / h``, refused for non-complex-safe ``f``."""
    ev = Evaluator(f, x, np.complex128, scalar, complex_probe=True)
    f0 = ev("(x + 0i)")
    n = x.size
    J = np.empty(f0.shape + (n,))
    for i in range(n):
        J[..., i] = ev.at(i, ev.x0[i] + 1j * h, where(x.shape, i, "+i", h)).imag / h
    ev.check_untouched()
    J = J.reshape(f0.shape + x.shape)
    if verify:
        verify_complex_step(f, x, J, ev.real_typed, scalar)
    return J


def verify_complex_step(f: Callable, x: np.ndarray, J: np.ndarray, real_typed: bool,
                        scalar: bool) -> None:
    """Refuse ``f`` when the complex step disagrees with finite differences.

    A function that drops the imaginary part gives a complex step of 0 (or a wrong value)
    where ``f`` clearly varies. Richardson differences (4th order) check the result along one
    random direction, which sees every element at once, and at the two elements whose
    complex-step derivatives are the largest and the smallest.
    """
    scale = np.maximum(np.abs(x), 1.0)
    rng = np.random.default_rng(12345)
    n_out = J.ndim - x.ndim
    Jf = J.reshape(J.shape[:n_out] + (x.size,))
    col = np.abs(Jf).reshape(-1, x.size).sum(axis=0)
    checks = [("along a random direction", rng.standard_normal(x.shape) * scale)]
    for i in dict.fromkeys((int(np.argmax(col)), int(np.argmin(col)))):
        e = np.zeros(x.size)
        e[i] = scale.ravel()[i]
        checks.append((f"at element {index_text(np.unravel_index(i, x.shape))}",
                       e.reshape(x.shape)))
    for what, v in checks:
        def phi(t: np.ndarray, v: np.ndarray = v) -> Any:
            return f(x + t[()] * v)

        ev = Evaluator(phi, np.zeros(()), np.float64, scalar)
        t = VERIFY_STEP
        vals = [ev.at(0, s, f"(x{s:+.3g}·v)") for s in (t, -t, t / 2, -t / 2)]
        fd = (4 * (vals[2] - vals[3]) / t - (vals[0] - vals[1]) / (2 * t)) / 3
        cs = np.tensordot(J, v, axes=x.ndim) if x.ndim else J * v
        terms = np.abs(J * v.reshape((1,) * n_out + x.shape)).reshape(
            J.shape[:n_out] + (-1,)).sum(axis=-1)
        rounding = 1e3 * U * np.max(np.abs(vals), axis=0) / t
        tol = 1e-6 * (terms + np.abs(fd)) + rounding
        bad = ~(np.abs(cs - fd) <= tol)
        if bad.any():
            k = tuple(int(j) for j in np.argwhere(bad)[0]) if n_out else ()
            out = f" output {index_text(k)}:" if n_out else ""
            dropped = (" f(x + ih) has a real dtype: the imaginary part was dropped."
                       if real_typed else "")
            raise NotComplexSafeError(
                f"complex_step_gradient: f is not complex-safe.{dropped} {what.capitalize()},"
                f"{out} the complex step gives {np.asarray(cs)[k]:.10g} but 4th-order finite "
                f"differences give {np.asarray(fd)[k]:.10g}; " + NOT_SAFE_HINT)


def complex_step_gradient(f: Callable[[np.ndarray], Any], x: Any, h: float = 1e-30,
                          verify: bool = True) -> np.ndarray:
    """The gradient of a scalar ``f`` at ``x`` by the complex step, ``Im f(x + i h eᵢ) / h``.

    Exact to rounding (there is no difference of nearby numbers to cancel), for ``f`` written
    with complex-safe numpy operations (``+ - * / **``, ``exp``, ``log``, ``log1p``, ``sin``,
    ``tanh``, ``@``, ``sum``, ``where`` on a condition of the real part, ...).

    With ``verify=True`` (default) ``f`` is refused with :class:`NotComplexSafeError`, a
    ``ValueError``, when it is not complex-safe: it raises ``TypeError`` or numpy's
    ``ComplexWarning`` on complex input, its imaginary part comes out NaN, or the complex
    step disagrees with 4th-order finite differences along a random direction or at the
    elements with the largest and smallest derivative (what ``abs``, ``maximum``, ``.real``
    and friends cause: a zero or wrong imaginary part where ``f`` clearly varies). This
    costs 12 extra evaluations of ``f``.
    """
    check_f(f)
    xr = as_real(x, "x")
    return complex_step(f, xr, check_h(h), scalar=True, verify=verify)
