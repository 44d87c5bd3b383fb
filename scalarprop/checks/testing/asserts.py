"""Assert that a derivative is right: the gradient of a scalar ``f``, or a backward (vjp).

By default (``tolerance="auto"``) each element is held to the numeric derivative's own
estimated error (:mod:`.differences`): tight where the differences are accurate (a tiny
gradient of a small network is checked to ~1e-10, not to torch's ``atol=1e-5``), loose only
where they are not. Giving ``atol``/``rtol`` chooses the fixed rule instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .arguments import (
    GradientMismatchError,
    as_grad,
    as_real,
    check_count,
    check_f,
    check_method,
    check_names,
    check_seed,
    index_text,
    resolve_tolerance,
)
from .complex_step import complex_step_error, complex_step_gradient
from .differences import gradient_estimate, numerical_gradient
from .directional import directional_check
from .evaluator import Evaluator
from .report import Tolerance, compare


def derivative_and_tolerance(f: Callable, x: np.ndarray, method: str, eps: Any, rule: str,
                             atol: float, rtol: float) -> tuple[np.ndarray, Tolerance]:
    """The numeric gradient of scalar ``f`` and the tolerance each element is held to."""
    if rule == "fixed":
        return numerical_gradient(f, x, eps, method), Tolerance("fixed", atol, rtol)
    if method == "complex_step":
        numeric = complex_step_gradient(f, x, h=1e-30 if eps is None else eps)
        return numeric, Tolerance("auto", estimated=complex_step_error(numeric))
    est = gradient_estimate(f, x, eps)
    return est.numeric, Tolerance("auto", estimated=est.error)


def assert_gradients_close(f: Callable[[np.ndarray], float], x: Any, grad: Any,
                           atol: float | None = None, rtol: float | None = None,
                           method: str = "central", *, tolerance: str = "auto",
                           eps: Any = None, names: Sequence[str] | None = None,
                           fast: bool = False, directions: int = 4, seed: int = 0) -> None:
    """Assert that ``grad`` is the gradient of the scalar ``f`` at ``x``.

    ``tolerance="auto"`` (default): element ``i`` passes when ``|grad[i] − numeric[i]|`` is
    within :data:`~.report.FACTOR` times the numeric derivative's estimated error (Richardson's
    two steps for truncation, ``u|f|/ε`` for rounding; for ``method="complex_step"``,
    rounding only). Giving ``atol`` or ``rtol`` (or ``tolerance="fixed"``: 1e-5 and 1e-3)
    chooses ``|grad[i] − numeric[i]| <= atol + rtol·|numeric[i]|``. NaN or inf in ``grad``
    fail. ``names`` (one label per element, in C order) name the elements in the report.

    ``fast=True`` compares the slope along ``directions`` random unit directions instead of
    every element (``5·directions + 1`` evaluations instead of ``4·x.size + 17``); a
    disagreement is narrowed down by halving to the wrong elements, which the report names.

    Raises :class:`GradientMismatchError` (an ``AssertionError``) whose message gives the shape,
    how many elements fail, the worst few (index, analytic, numeric, absolute, relative and,
    with "auto", estimated error) and, for up to 40 elements, the whole table; ``ValueError``
    for bad arguments.
    """
    check_f(f)
    check_method(method)
    rule, atol_, rtol_ = resolve_tolerance(tolerance, atol, rtol, method)
    xr = as_real(x, "x")
    g = as_grad(grad, xr.shape, "grad")
    labels = check_names(names, xr.shape)
    if fast:
        directions = check_count(directions, "directions")
        seed = check_seed(seed)
        if rule != "auto" or method not in ("central", "richardson"):
            raise ValueError("fast=True measures slopes with the auto tolerance of central "
                             "differences: leave method, atol and rtol at their defaults")
        fast_check(f, xr, g, labels, directions, seed)
        return
    numeric, tol = derivative_and_tolerance(f, xr, method, eps, rule, atol_, rtol_)
    compare(g, numeric, tol, method, labels, "gradient")


def fast_check(f: Callable, x: np.ndarray, g: np.ndarray, labels: list[str] | None,
               directions: int, seed: int) -> None:
    """The directional check of :func:`assert_gradients_close` (``fast=True``)."""
    shape = x.shape
    names = labels or [index_text(np.unravel_index(i, shape)) for i in range(x.size)]
    ev = Evaluator(f, x, np.float64, scalar=True)
    f0 = float(ev("(x)"))
    if not np.isfinite(g).all():
        bad = int(np.flatnonzero(~np.isfinite(g.ravel()))[0])
        raise GradientMismatchError(f"gradient check failed: grad is {g.ravel()[bad]} at "
                                    f"{names[bad]}", shape,
                                    [tuple(int(j) for j in np.unravel_index(bad, shape))],
                                    g, None, labels)

    def along(v: np.ndarray, t: float) -> float:
        return float(ev.call((ev.x0 + t * v).reshape(shape)))

    result = directional_check(along, f0, g.ravel(), ev.x0, names,
                               [("all elements", np.arange(x.size))], directions, seed)
    ev.check_untouched()
    if not result.ok:
        failing = [tuple(int(j) for j in np.unravel_index(i, shape)) for i, _ in result.elements]
        raise GradientMismatchError("gradient check failed (fast)\n" + str(result), shape,
                                    failing, g, None, labels)


def assert_vjp_close(f: Callable[[np.ndarray], Any], x: Any, v: Any, vjp: Any,
                     atol: float | None = None, rtol: float | None = None,
                     method: str = "central", *, tolerance: str = "auto", eps: Any = None,
                     names: Sequence[str] | None = None) -> None:
    """Assert that ``vjp`` is the backward of ``f`` at ``x``: ``vjp(v) = Jᵀ v``.

    This is the form of the lecture's backward functions: the gradient of the outputs in
    (``v``, of ``f(x)``'s shape: ``y∇``), the gradient of the inputs out (of ``x``'s shape:
    ``x∇ = Σₒ vₒ ∂fₒ/∂x``). ``vjp`` is a callable taking ``v`` (given a copy), or the array it
    returned. ``v=None`` draws a (seeded) standard normal ``v``. The reference is the
    numeric gradient of ``Σ v ⊙ f(x)``; tolerances, ``method`` and the report as in
    :func:`assert_gradients_close`.
    """
    check_f(f)
    check_method(method)
    rule, atol_, rtol_ = resolve_tolerance(tolerance, atol, rtol, method)
    xr = as_real(x, "x")
    y = np.asarray(f(xr.copy()))
    if y.dtype.kind not in "biuf":
        raise ValueError(f"f(x) returned dtype {y.dtype}; expected real numbers")
    if v is None:
        vr = np.random.default_rng(0).standard_normal(y.shape)
    else:
        vr = as_real(v, "v")
        if vr.shape != y.shape:
            raise ValueError(f"v: expected the shape of f(x), {y.shape}, got {vr.shape}")
    g = as_grad(vjp(vr.copy()) if callable(vjp) else vjp, xr.shape, "vjp(v)")
    labels = check_names(names, xr.shape)
    numeric, tol = derivative_and_tolerance(lambda z: np.sum(vr * f(z)), xr, method, eps,
                                            rule, atol_, rtol_)
    compare(g, numeric, tol, method, labels, "vector-Jacobian product")
