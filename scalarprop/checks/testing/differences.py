"""Finite differences (slide 39), and the estimate of their own error.

With ``u = 2⁻⁵²`` the rounding unit and the step scaled to each element,
``ε = c · max(|xᵢ|, 1)``::

    forward      (f(x + ε) − f(x)) / ε                    O(ε)  + O(u/ε)   c = u^(1/2) ≈ 1.5e-8
    central      D(ε) = (f(x + ε) − f(x − ε)) / 2ε        O(ε²) + O(u/ε)   c = u^(1/3) ≈ 6.1e-6
    richardson   (4 D(ε/2) − D(ε)) / 3                    O(ε⁴) + O(u/ε)   c = u^(1/5) ≈ 7.4e-4

How wrong is a numeric derivative? The central difference's error is ``c₂ ε² + O(ε⁴)``, so
two step sizes measure it: ``D(ε) − D(ε/2) ≈ ¾ c₂ ε²``, and the error of ``D(ε/2)`` is about
``|D(ε) − D(ε/2)| / 3`` (Richardson). Rounding adds about ``u |f| / ε`` per difference: each
``f`` carries an error of about ``u |f|`` (or more: :func:`noise_level` measures it), and the
difference divides it by the step. The
extrapolation ``(4 D(ε/2) − D(ε)) / 3`` is reported as the numeric derivative, and
``|D(ε) − D(ε/2)| / 3 + 3·noise / ε`` as its estimated error (an upper estimate: the
extrapolation removes most of the first term). :func:`gradient_estimate` returns both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arguments import U, as_real, check_f, check_method
from .complex_step import check_h, complex_step, complex_step_gradient
from .evaluator import Evaluator, where

#: the relative step of each method when ``eps=None`` (the optimum of truncation vs rounding)
STEP = {"forward": U ** (1 / 2), "central": U ** (1 / 3), "richardson": U ** (1 / 5)}
#: the larger step of the error estimate: it minimises ``ε²/24 + 3u/ε`` (the truncation of
#: D(ε/2) plus the rounding of the extrapolation, for derivatives of the size of f):
#: ``ε = (36 u)^(1/3) ≈ 2e-5``, relative to ``max(|x|, 1)``
STEP_AUTO = (36 * U) ** (1 / 3)
#: the noise of f is measured at this many elements, moved by NOISE_STEP·max(|x|, 1)
NOISE_SAMPLES = 16
NOISE_STEP = 1e-12
#: where rounding dominates, the steps are also tried this many times wider
WIDEN = 100.0


@dataclass
class Estimate:
    """A numeric gradient and its estimated error, element by element (flat arrays).

    ``numeric``: Richardson's ``(4 D(ε/2) − D(ε)) / 3``; ``error``: ``truncation +
    rounding``, with ``truncation = |D(ε) − D(ε/2)| / 3`` and ``rounding = 3·noise / ε``
    (``noise``: :func:`noise_level`);
    ``one_sided``: the forward and backward quotients at ``ε`` and at ``ε/2`` (rows 0-3), which
    tell a kink (their gap does not shrink with the step) from curvature (it halves);
    ``step``: the first ``ε``; ``noise``: the rounding error of one value of ``f``.
    """

    numeric: np.ndarray
    truncation: np.ndarray
    rounding: np.ndarray
    one_sided: np.ndarray
    step: np.ndarray
    noise: np.ndarray

    @property
    def error(self) -> np.ndarray:
        return self.truncation + self.rounding


def steps(x: np.ndarray, eps: Any, method: str) -> np.ndarray:
    """Per-element step: ``STEP[method] * max(|x|, 1)`` for ``eps=None``, else ``eps``
    (a positive number, or an array of ``x``'s shape). ``method="auto"``: the error
    estimate's larger step."""
    if eps is None:
        c = STEP_AUTO if method == "auto" else STEP[method]
        return c * np.maximum(np.abs(x), 1.0)
    e = as_real(eps, "eps")
    if e.shape not in ((), x.shape):
        raise ValueError(f"eps: expected a number or an array of x's shape {x.shape}, got "
                         f"shape {e.shape}")
    if not (e > 0).all():
        raise ValueError(f"eps={eps!r}: steps must be > 0")
    out = np.broadcast_to(e, x.shape).astype(np.float64)
    smallest = out / 2 if method in ("richardson", "auto") else out
    lost = (x + smallest == x) | (x - smallest == x)
    if lost.any():
        i = tuple(int(j) for j in np.argwhere(lost)[0])
        raise ValueError(f"eps: the step {smallest[i]:g} is lost in rounding at x"
                         f"{list(i)} = {x[i]:g} (x ± step == x); use a larger eps, or eps=None")
    return out


def two_steps(f_at: Callable[[int, float, str], Any], f0: np.ndarray, i: int, x: float,
              step: float, describe: Callable[[int, str, float], str]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``D(ε), D(ε/2)``, the four one-sided quotients and the largest ``|f|`` for element
    ``i`` at ``x``."""
    D = np.empty((2,) + f0.shape)
    one_sided = np.empty((4,) + f0.shape)
    scale = np.abs(f0)
    for r, s in enumerate((step, step / 2)):
        # divide by the distance actually stepped: x ± s rounds to a nearby float
        xp, xm = x + s, x - s
        fp = np.asarray(f_at(i, xp, describe(i, "+", s)), dtype=float)
        fm = np.asarray(f_at(i, xm, describe(i, "-", s)), dtype=float)
        D[r] = (fp - fm) / (xp - xm)
        one_sided[2 * r] = (fp - f0) / (xp - x)
        one_sided[2 * r + 1] = (f0 - fm) / (x - xm)
        scale = np.maximum(scale, np.maximum(np.abs(fp), np.abs(fm)))
    return D, one_sided, scale


def richardson_estimate(f_at: Callable[[int, float, str], Any], f0: Any, x0: np.ndarray,
                        step: np.ndarray, describe: Callable[[int, str, float], str],
                        noise_floor: float = 0.0) -> Estimate:
    """The :class:`Estimate` for flat ``x0``: ``f_at(i, value, where)`` is ``f`` with element
    ``i`` set to ``value`` (restored after), ``f0 = f(x0)``, a number or an array (then every
    result has a leading axis over ``x0``, followed by ``f0``'s shape).

    Four evaluations per element, and up to ``NOISE_SAMPLES`` more that measure the rounding
    (:func:`noise_level`). Where rounding dominates (a small gradient of a large ``f``: a
    saturated sigmoid), the steps are tried ``WIDEN`` times wider (four more evaluations) and
    kept if that estimate is smaller: rounding falls with the step, and truncation, measured
    again, says whether the wider step is still fine. The one-sided quotients stay those of
    the first steps (kinks are found at the smallest scale). ``noise_floor`` is a least
    rounding error of ``f`` known from outside (a caller who knows the size of ``f``'s terms).
    """
    f0 = np.asarray(f0, dtype=float)
    n = x0.size
    D = np.empty((2, n) + f0.shape)
    one_sided = np.empty((4, n) + f0.shape)
    scale = np.empty((n,) + f0.shape)
    for i in range(n):
        D[:, i], one_sided[:, i], scale[i] = two_steps(f_at, f0, i, x0[i], step[i], describe)
    h = step.reshape((n,) + (1,) * f0.ndim)
    noise = np.maximum(noise_level(f_at, f0, x0, one_sided[2], scale, describe), noise_floor)
    numeric = (4 * D[1] - D[0]) / 3
    truncation = np.abs(D[0] - D[1]) / 3
    rounding = 3 * noise / h
    for i in np.flatnonzero(np.any((rounding > truncation).reshape(n, -1), axis=1)):
        try:
            Dw, _, _ = two_steps(f_at, f0, int(i), x0[i], WIDEN * step[i], describe)
        except ValueError:            # f is not defined that far away: keep the first steps
            continue
        wide_truncation = np.abs(Dw[0] - Dw[1]) / 3
        wide_rounding = rounding[i] / WIDEN
        better = wide_truncation + wide_rounding < truncation[i] + rounding[i]
        numeric[i] = np.where(better, (4 * Dw[1] - Dw[0]) / 3, numeric[i])
        truncation[i] = np.where(better, wide_truncation, truncation[i])
        rounding[i] = np.where(better, wide_rounding, rounding[i])
    return Estimate(numeric, truncation, rounding, one_sided, step, noise)


def noise_level(f_at: Callable[[int, float, str], Any], f0: np.ndarray, x0: np.ndarray,
                forward_half: np.ndarray, scale: np.ndarray,
                describe: Callable[[int, str, float], str]) -> np.ndarray:
    """How far a computed ``f`` may be from the exact one: at least ``u·|f|``, and measured.

    A sum whose terms cancel (``Σ sin xᵢ`` near 0, a loss of confident predictions) carries
    the rounding of its terms, not of its value. It shows when ``x`` moves by a step so small
    (``1e-12·max(|x|, 1)``: thousands of ulps, enough to reshuffle every rounding) that the
    change of ``f`` is known to far better than rounding from the forward slope: what is
    left, ``|f(x + δ) − f(x) − δ·slope|``, is rounding. The largest over a few elements
    (``NOISE_SAMPLES``) stands for all; a kink at ``x`` does not disturb it (the one-sided
    slope is the slope on that side).
    """
    n = x0.size
    sample = np.unique(np.linspace(0, n - 1, min(n, NOISE_SAMPLES)).astype(int))
    measured = np.zeros(f0.shape)
    for i in sample:
        moved = x0[i] + NOISE_STEP * max(abs(x0[i]), 1.0)
        f_moved = np.asarray(f_at(int(i), moved, describe(int(i), "+", moved - x0[i])),
                             dtype=float)
        residual = np.abs(f_moved - f0 - (moved - x0[i]) * forward_half[i])
        measured = np.maximum(measured, residual)
    return np.maximum(U * scale, measured)


def gradient_estimate(f: Callable[[np.ndarray], float], x: Any, eps: Any = None) -> Estimate:
    """The gradient of a scalar ``f`` at ``x`` with its estimated error per element (see the
    module docstring): ``eps`` is the larger of the two steps (default ``2e-5·max(|x|, 1)``).
    Costs ``4·x.size + 1`` evaluations (and up to 16 for the noise). The arrays of the
    result have ``x``'s shape."""
    check_f(f)
    xr = as_real(x, "x")
    h = steps(xr, eps, "auto").ravel()
    ev = Evaluator(f, xr, np.float64, scalar=True)
    f0 = float(ev("(x)"))
    est = richardson_estimate(ev.at, f0, ev.x0, h,
                              lambda i, sign, s: where(xr.shape, i, sign, s))
    ev.check_untouched()
    shape = xr.shape
    return Estimate(est.numeric.reshape(shape), est.truncation.reshape(shape),
                    est.rounding.reshape(shape), est.one_sided.reshape((4,) + shape),
                    h.reshape(shape), est.noise.reshape(shape))


def differences(f: Callable, x: np.ndarray, eps: Any, method: str, scalar: bool
                ) -> np.ndarray:
    """The finite-difference Jacobian ``J[out + in]`` (the gradient for scalar ``f``)."""
    h_all = steps(x, eps, method).ravel()
    ev = Evaluator(f, x, np.float64, scalar)
    f0 = ev("(x)")
    n = x.size
    J = np.empty(f0.shape + (n,))
    x0 = ev.x0
    for i in range(n):
        h = h_all[i]
        if method == "forward":
            xp = x0[i] + h
            J[..., i] = (ev.at(i, xp, where(x.shape, i, "+", h)) - f0) / (xp - x0[i])
            continue
        parts = ((h, 1.0),) if method == "central" else ((h, -1 / 3), (h / 2, 4 / 3))
        d = np.zeros(f0.shape)
        for s, weight in parts:
            xp, xm = x0[i] + s, x0[i] - s
            fp = ev.at(i, xp, where(x.shape, i, "+", s))
            fm = ev.at(i, xm, where(x.shape, i, "-", s))
            d = d + weight * (fp - fm) / (xp - xm)
        J[..., i] = d
    ev.check_untouched()
    return J.reshape(f0.shape + x.shape)


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, eps: Any = None,
                       method: str = "central") -> np.ndarray:
    """The gradient of a scalar ``f`` at ``x`` by finite differences (slide 39).

    Args:
        f: a function from a float64 array of ``x``'s shape to a real number.
        x: the point (any shape; ints are converted, complex refused).
        eps: the step. ``None`` scales it to each element, ``STEP[method] * max(|xᵢ|, 1)``;
            a number or an array of ``x``'s shape sets it (for "richardson", the larger of
            its two steps ``ε`` and ``ε/2``).
        method: "central" (default, error O(ε²)), "forward" (O(ε)), "richardson" (4th order,
            O(ε⁴)), or "complex_step" (:func:`complex_step_gradient`; ``eps`` is then ``h``).

    Returns a float64 array of ``x``'s shape. ``x`` itself is never modified: ``f`` sees a
    private copy, which is checked afterwards (``f`` writing into its argument is an error).
    """
    check_f(f)
    check_method(method)
    xr = as_real(x, "x")
    if method == "complex_step":
        return complex_step_gradient(f, xr, h=1e-30 if eps is None else eps)
    return differences(f, xr, eps, method, scalar=True)


def numerical_jacobian(f: Callable[[np.ndarray], Any], x: Any, eps: Any = None,
                       method: str = "central") -> np.ndarray:
    """The Jacobian of an array-valued ``f`` at ``x``: ``J[o + i] = ∂f(x)[o] / ∂x[i]``, of
    shape ``f(x).shape + x.shape`` (for a scalar ``f``, the gradient). ``eps`` and ``method``
    as in :func:`numerical_gradient` (``"complex_step"`` is verified as in
    :func:`complex_step_gradient`)."""
    check_f(f)
    check_method(method)
    xr = as_real(x, "x")
    if method == "complex_step":
        return complex_step(f, xr, check_h(1e-30 if eps is None else eps), scalar=False,
                            verify=True)
    return differences(f, xr, eps, method, scalar=False)
