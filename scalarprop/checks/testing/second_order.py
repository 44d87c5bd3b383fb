"""Beyond one gradient: Hessian-vector products, small Hessians, and per-example gradients.

* ``Hv`` is the derivative of the gradient along ``v``: ``Hv ≈ (∇f(x + tv) − ∇f(x − tv)) / 2t``,
  with Richardson's two steps for the estimate of its error, as for gradients.
* The Hessian of a small ``f`` by second differences, step ``u^(1/4)·max(|x|, 1)`` (error
  ``O(ε²) + O(u/ε²)``).
* A batch's loss is the sum of its examples' losses, and so is its gradient: a per-example
  check holds each example's gradient to the differences of that example's loss, so a bug
  that only some examples meet (the last of a batch, a class index) is named by example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .arguments import (
    U,
    as_grad,
    as_real,
    check_f,
    check_names,
    check_nonnegative,
    index_text,
    resolve_tolerance,
)
from .differences import STEP_AUTO, richardson_estimate, steps
from .evaluator import Evaluator, where
from .report import Tolerance, compare

#: numerical_hessian refuses larger x: it costs 2·n² evaluations
MAX_HESSIAN = 200
HESSIAN_STEP = U ** (1 / 4)


def assert_hvp_close(grad_f: Callable[[np.ndarray], Any], x: Any, v: Any, hvp: Any,
                     atol: float | None = None, rtol: float | None = None, *,
                     tolerance: str = "auto", eps: float | None = None,
                     names: Sequence[str] | None = None) -> None:
    """Assert that ``hvp`` is the Hessian of ``f`` times ``v`` at ``x``, given ``grad_f``
    (the gradient of ``f``, assumed right: check it first with ``assert_gradients_close``).

    ``hvp`` is a callable taking ``v`` (given a copy), or the array it returned; ``v=None``
    draws a seeded standard normal ``v``. The reference is the directional derivative of
    ``grad_f`` along ``v`` (central differences at two steps, ``eps`` the larger, relative to
    the largest ``|vᵢ| max(|xᵢ|, 1)``); tolerances and the report as in
    :func:`~.asserts.assert_gradients_close`. Raises ``GradientMismatchError`` or
    ``ValueError`` (bad arguments; ``grad_f`` returning the wrong shape or NaN).
    """
    check_f(grad_f, "grad_f")
    rule, atol_, rtol_ = resolve_tolerance(tolerance, atol, rtol, "central")
    xr = as_real(x, "x")
    vr = (np.random.default_rng(0).standard_normal(xr.shape) if v is None
          else as_real(v, "v"))
    if vr.shape != xr.shape:
        raise ValueError(f"v: expected the shape of x, {xr.shape}, got {vr.shape}")
    if not np.any(vr):
        raise ValueError("v: is all zeros; Hv along no direction checks nothing")
    target = as_grad(hvp(vr.copy()) if callable(hvp) else hvp, xr.shape, "hvp(v)")
    labels = check_names(names, xr.shape)
    size = float(np.abs(vr).max())
    t = (STEP_AUTO if eps is None else check_nonnegative(eps, "eps")) \
        * float(np.maximum(np.abs(xr), 1.0).max()) / size
    if t == 0:
        raise ValueError("eps=0: the step must be > 0")

    def along(s: float, text: str) -> np.ndarray:
        g = np.asarray(grad_f(xr + s * vr))
        if g.dtype.kind not in "biuf":
            raise ValueError(f"grad_f{text} returned dtype {g.dtype}; expected real numbers")
        if g.shape != xr.shape:
            raise ValueError(f"grad_f{text} returned shape {g.shape}; expected x's shape "
                             f"{xr.shape}")
        g = g.astype(float)
        if not np.isfinite(g).all():
            raise ValueError(f"grad_f{text} is not finite; pass a smaller eps")
        return g

    g0 = along(0.0, "(x)")
    est = richardson_estimate(lambda i, s, text: along(s, text), g0, np.zeros(1),
                              np.array([t]), lambda i, sign, s: f"(x{sign}{s:.3g}·v)")
    numeric = est.numeric[0]
    # a gradient element carries rounding of the size of the whole gradient's sums, at
    # x ± tv too, where the gradient is about g0 ± t·Hv (at x = 0, g0 = 0 and only t·Hv is left)
    rounding = est.rounding[0] + 3 * U * (np.abs(g0).max() / t + np.abs(numeric).max())
    tol = Tolerance(rule, atol_, rtol_, est.truncation[0] + rounding if rule == "auto"
                    else None)
    compare(target, numeric, tol, "central", labels, "Hessian-vector product")


def numerical_hessian(f: Callable[[np.ndarray], float], x: Any, eps: Any = None
                      ) -> np.ndarray:
    """The Hessian of a scalar ``f`` at a small ``x`` (at most :data:`MAX_HESSIAN` elements)
    by second differences: ``H[i,i] = (f(x+εᵢ) − 2f(x) + f(x−εᵢ)) / εᵢ²`` and
    ``H[i,j] = (f(x+εᵢ+εⱼ) − f(x+εᵢ−εⱼ) − f(x−εᵢ+εⱼ) + f(x−εᵢ−εⱼ)) / 4εᵢεⱼ``, symmetric by
    construction. Shape ``x.shape + x.shape``. ``eps``: a positive number, or ``None`` for
    ``u^(1/4)·max(|xᵢ|, 1)``."""
    check_f(f)
    xr = as_real(x, "x")
    n = xr.size
    if n > MAX_HESSIAN:
        raise ValueError(f"x: has {n} elements; numerical_hessian takes at most {MAX_HESSIAN} "
                         "(it costs 2n² evaluations): check Hv with assert_hvp_close instead")
    if eps is None:
        h = HESSIAN_STEP * np.maximum(np.abs(xr.ravel()), 1.0)
    else:
        step = check_nonnegative(eps, "eps")
        if step == 0:
            raise ValueError("eps=0: the step must be > 0")
        h = np.full(n, step)
    ev = Evaluator(f, xr, np.float64, scalar=True)
    f0 = float(ev("(x)"))

    def at(changes: list[tuple[int, float]]) -> float:
        for i, d in changes:
            ev.w[i] = ev.x0[i] + d
        try:
            text = ", ".join(f"x{where(xr.shape, i, '+' if d > 0 else '-', abs(d))[2:-1]}"
                             for i, d in changes)
            return float(ev(f"({text})"))
        finally:
            for i, _ in changes:
                ev.w[i] = ev.x0[i]

    H = np.empty((n, n))
    for i in range(n):
        H[i, i] = (at([(i, h[i])]) - 2 * f0 + at([(i, -h[i])])) / h[i] ** 2
        for j in range(i):
            corners = [at([(i, si * h[i]), (j, sj * h[j])]) for si in (1, -1) for sj in (1, -1)]
            H[i, j] = H[j, i] = (corners[0] - corners[1] - corners[2] + corners[3]) \
                / (4 * h[i] * h[j])
    ev.check_untouched()
    return H.reshape(xr.shape + xr.shape)


def assert_per_example_gradients_close(f: Callable[[np.ndarray], Any], x: Any, grads: Any,
                                       atol: float | None = None, rtol: float | None = None,
                                       *, tolerance: str = "auto", eps: Any = None,
                                       names: Sequence[str] | None = None) -> None:
    """Assert that ``grads[n]`` is the gradient of example ``n``'s loss at ``x``, where
    ``f(x)`` returns every example's loss (shape ``(N,)``) and ``grads`` has shape
    ``(N,) + x.shape``. One set of differences serves all examples (``4·x.size + 1``
    evaluations of ``f``). The report names the example and the element (``example 3:
    W0[1,2]``; the error's ``failing`` holds ``(example, flat element)`` pairs); tolerances as
    in :func:`~.asserts.assert_gradients_close` (``method`` is central)."""
    check_f(f)
    rule, atol_, rtol_ = resolve_tolerance(tolerance, atol, rtol, "central")
    xr = as_real(x, "x")
    ev = Evaluator(f, xr, np.float64, scalar=False)
    f0 = ev("(x)")
    if f0.ndim != 1 or f0.size == 0:
        raise ValueError(f"f(x) returned shape {f0.shape}; expected one loss per example, "
                         "shape (N,)")
    N = f0.size
    G = as_grad(grads, (N,) + xr.shape, "grads")
    labels = check_names(names, xr.shape) or [
        index_text(np.unravel_index(i, xr.shape)) for i in range(xr.size)]
    h = steps(xr, eps, "auto").ravel()
    est = richardson_estimate(ev.at, f0, ev.x0, h,
                              lambda i, sign, s: where(xr.shape, i, sign, s))
    ev.check_untouched()
    # the estimate's arrays are (elements, examples): the report's are (examples, elements)
    numeric = est.numeric.T.reshape(G.shape)
    tol = Tolerance(rule, atol_, rtol_, est.error.T.reshape(G.shape) if rule == "auto"
                    else None)
    row_names = [f"example {n}: {name}" for n in range(N) for name in labels]
    compare(G.reshape(N, -1), numeric.reshape(N, -1), tol, "central", row_names,
            "per-example gradient")
