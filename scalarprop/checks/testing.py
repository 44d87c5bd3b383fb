"""The gradient oracle for any function: finite differences done right, and the complex step.

The lecture checks backpropagation against the numeric estimate of slide 39: take a small step
``ε`` and see how much the function changes. How small decides how good the estimate is. With
``u = 2⁻⁵²`` the rounding unit, and the step scaled to each element, ``ε = c · max(|xᵢ|, 1)``::

    forward      (f(x + ε) − f(x)) / ε                    O(ε)  + O(u/ε)   c = u^(1/2) ≈ 1.5e-8
    central      (f(x + ε) − f(x − ε)) / 2ε               O(ε²) + O(u/ε)   c = u^(1/3) ≈ 6.1e-6
    richardson   (4 D(ε/2) − D(ε)) / 3,  D the central    O(ε⁴) + O(u/ε)   c = u^(1/5) ≈ 7.4e-4
    complex step Im f(x + ih) / h                         O(h²), no cancellation, h = 1e-30

The complex step needs ``f`` to be analytic in ``x`` as numpy computes it: no ``abs``,
``maximum``, ``.real``, ``float()`` or writing into a float array. Such functions are refused
with :class:`NotComplexSafeError` (a ``ValueError``) rather than answered wrongly.

Every public function validates its arguments with a ``ValueError`` that names the argument,
and never modifies ``x``: ``f`` is evaluated on a private copy.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_U = np.finfo(np.float64).eps
#: the relative step of each method when ``eps=None`` (the optimum of truncation vs rounding)
STEP = {"forward": _U ** (1 / 2), "central": _U ** (1 / 3), "richardson": _U ** (1 / 5)}
METHODS = ("central", "forward", "richardson", "complex_step")

# numpy >= 1.25 moved it to np.exceptions
_ComplexWarning = np.exceptions.ComplexWarning if hasattr(np, "exceptions") \
    else np.ComplexWarning

_NOT_SAFE_HINT = ("typical causes: abs()/np.abs, np.sign, np.conj, .real, float(), math.* "
                  "functions, np.asarray(..., dtype=float), writing into a float array, or a "
                  "kink (max, relu) exactly at x. Write f with complex-safe numpy operations, "
                  "or use numerical_gradient (finite differences) instead")


class NotComplexSafeError(ValueError):
    """``f`` cannot be differentiated by the complex step: it drops the imaginary part of its
    input (or is not analytic there), so ``Im f(x + ih) / h`` would be silently wrong."""


class GradientMismatchError(AssertionError):
    """Raised by :func:`assert_gradients_close` and :func:`assert_vjp_close`.

    Attributes: ``shape`` (of ``x``), ``failing`` (the failing indices, worst first),
    ``worst`` (the index furthest outside the tolerance), ``names`` (the labels given, if any),
    ``analytic`` and ``numeric`` (arrays of ``x``'s shape).
    """

    def __init__(self, message: str, shape: tuple[int, ...] = (),
                 failing: list[tuple[int, ...]] | None = None, analytic: Any = None,
                 numeric: Any = None, names: list[str] | None = None) -> None:
        super().__init__(message)       # only the message in args: the error pickles
        self.shape = shape
        self.failing = failing or []
        self.worst = self.failing[0] if self.failing else ()
        self.names = names
        self.analytic = analytic
        self.numeric = numeric

    @property
    def worst_name(self) -> str:
        """The label of :attr:`worst` (its index written ``[i, j]`` if no names were given)."""
        return _label(self.worst, self.shape, self.names)


# -- argument checks -----------------------------------------------------------------------------


def _as_real(a: Any, name: str, allow_nonfinite: bool = False) -> np.ndarray:
    """A float64 copy of ``a``; complex, object and string input refused."""
    try:
        arr = np.array(a)
    except Exception as exc:
        raise ValueError(f"{name}: cannot be read as a numeric array ({exc})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name}: complex dtype {arr.dtype}; expected real float64 values")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: dtype {arr.dtype} is not numeric; expected float64 values")
    arr = arr.astype(np.float64)
    if not allow_nonfinite and not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name}: contains NaN or inf (first at {_fmt(bad)}, value "
                         f"{arr[bad]})")
    return arr


def _check_f(f: Any, name: str = "f") -> None:
    if not callable(f):
        raise ValueError(f"{name}: expected a callable, got {type(f).__name__}")


def _check_method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {list(METHODS)}")
    return method


def _check_tol(atol: Any, rtol: Any) -> None:
    for name, t in (("atol", atol), ("rtol", rtol)):
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating, np.integer)) \
                or not np.isfinite(t) or t < 0:
            raise ValueError(f"{name}={t!r}: expected a finite number >= 0")


def _steps(x: np.ndarray, eps: Any, method: str) -> np.ndarray:
    """Per-element step: ``STEP[method] * max(|x|, 1)`` for ``eps=None``, else ``eps``
    (a positive number, or an array of ``x``'s shape)."""
    if eps is None:
        return STEP[method] * np.maximum(np.abs(x), 1.0)
    e = _as_real(eps, "eps")
    if e.shape not in ((), x.shape):
        raise ValueError(f"eps: expected a number or an array of x's shape {x.shape}, got "
                         f"shape {e.shape}")
    if not (e > 0).all():
        raise ValueError(f"eps={eps!r}: steps must be > 0")
    steps = np.broadcast_to(e, x.shape).astype(np.float64)
    smallest = steps / 2 if method == "richardson" else steps
    lost = (x + smallest == x) | (x - smallest == x)
    if lost.any():
        i = tuple(int(j) for j in np.argwhere(lost)[0])
        raise ValueError(f"eps: the step {smallest[i]:g} is lost in rounding at x{_fmt(i)} = "
                         f"{x[i]:g} (x ± step == x); use a larger eps, or eps=None")
    return steps


def _check_h(h: Any) -> float:
    if isinstance(h, bool) or not isinstance(h, (int, float, np.floating)) \
            or not np.isfinite(h) or not 0 < h < 1e-3:
        raise ValueError(f"h={h!r}: expected a step 0 < h < 1e-3 (1e-30 is usual: the "
                         "complex step has no cancellation, so smaller is not worse)")
    return float(h)


# -- evaluating f ---------------------------------------------------------------------------------


class _Evaluator:
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

    def __call__(self, where: str) -> np.ndarray:
        arg = self.w.reshape(self.shape)
        if self.complex_probe:
            with warnings.catch_warnings():
                warnings.simplefilter("error", _ComplexWarning)
                try:
                    out = self.f(arg)
                except _ComplexWarning:
                    raise NotComplexSafeError(
                        "complex_step_gradient: f casts its complex input to real (numpy "
                        "warned 'Casting complex values to real discards the imaginary part'); "
                        + _NOT_SAFE_HINT) from None
                except TypeError as exc:
                    raise NotComplexSafeError(
                        f"complex_step_gradient: f fails on complex input ({exc}); "
                        + _NOT_SAFE_HINT) from None
        else:
            out = self.f(arg)
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
            if o.dtype.kind != "c":
                self.real_typed = True
                o = o.astype(np.complex128)
            bad = ~np.isfinite(o.real)
            if bad.any():
                raise ValueError(f"f{where} is not finite ({o.real[bad].ravel()[0]})")
            if not np.isfinite(o.imag).all():
                raise NotComplexSafeError(
                    f"complex_step_gradient: the imaginary part of f{where} is NaN or inf: f "
                    "is not complex-safe; " + _NOT_SAFE_HINT)
            return o.astype(np.complex128)
        if o.dtype.kind == "c":
            raise ValueError(f"f{where} returned complex values ({o.dtype}); finite "
                             "differences need a real f")
        o = o.astype(np.float64)
        if not np.isfinite(o).all():
            raise ValueError(f"f{where} is not finite ({o[~np.isfinite(o)].ravel()[0]}): the "
                             "step leaves f's domain; pass a smaller eps")
        return o

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


def _where(shape: tuple[int, ...], i: int, sign: str, step: Any) -> str:
    return f"(x{sign}{step:.3g} at {_fmt(np.unravel_index(i, shape))})"


def _fd(f: Callable, x: np.ndarray, eps: Any, method: str, scalar: bool) -> np.ndarray:
    """The finite-difference Jacobian ``J[out + in]`` (the gradient for scalar ``f``)."""
    steps = _steps(x, eps, method).ravel()
    ev = _Evaluator(f, x, np.float64, scalar)
    f0 = ev("(x)")
    n = x.size
    J = np.empty(f0.shape + (n,))
    x0 = ev.x0
    for i in range(n):
        h = steps[i]
        if method == "forward":
            xp = x0[i] + h
            J[..., i] = (ev.at(i, xp, _where(x.shape, i, "+", h)) - f0) / (xp - x0[i])
            continue
        parts = ((h, 1.0),) if method == "central" else ((h, -1 / 3), (h / 2, 4 / 3))
        d = np.zeros(f0.shape)
        for s, weight in parts:
            # divide by the distance actually stepped: x ± s rounds to a nearby float
            xp, xm = x0[i] + s, x0[i] - s
            fp = ev.at(i, xp, _where(x.shape, i, "+", s))
            fm = ev.at(i, xm, _where(x.shape, i, "-", s))
            d = d + weight * (fp - fm) / (xp - xm)
        J[..., i] = d
    ev.check_untouched()
    return J.reshape(f0.shape + x.shape)


def _complex_step(f: Callable, x: np.ndarray, h: float, scalar: bool, verify: bool
                  ) -> np.ndarray:
    """``J[out + in] = Im f(x + i h e_in)[out] / h``, refused for non-complex-safe ``f``."""
    ev = _Evaluator(f, x, np.complex128, scalar, complex_probe=True)
    f0 = ev("(x + 0i)")
    n = x.size
    J = np.empty(f0.shape + (n,))
    for i in range(n):
        J[..., i] = ev.at(i, ev.x0[i] + 1j * h, _where(x.shape, i, "+i", h)).imag / h
    ev.check_untouched()
    J = J.reshape(f0.shape + x.shape)
    if verify:
        _verify_complex_step(f, x, J, ev.real_typed, scalar)
    return J


def _verify_complex_step(f: Callable, x: np.ndarray, J: np.ndarray, real_typed: bool,
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
        checks.append((f"at element {_fmt(np.unravel_index(i, x.shape))}", e.reshape(x.shape)))
    for what, v in checks:
        def phi(t: np.ndarray, v: np.ndarray = v) -> Any:
            return f(x + t[()] * v)

        ev = _Evaluator(phi, np.zeros(()), np.float64, scalar)
        t = STEP["richardson"]
        vals = [ev.at(0, s, f"(x{s:+.3g}·v)") for s in (t, -t, t / 2, -t / 2)]
        fd = (4 * (vals[2] - vals[3]) / t - (vals[0] - vals[1]) / (2 * t)) / 3
        cs = np.tensordot(J, v, axes=x.ndim) if x.ndim else J * v
        terms = np.abs(J * v.reshape((1,) * n_out + x.shape)).reshape(
            J.shape[:n_out] + (-1,)).sum(axis=-1)
        rounding = 1e3 * _U * np.max(np.abs(vals), axis=0) / t
        tol = 1e-6 * (terms + np.abs(fd)) + rounding
        bad = ~(np.abs(cs - fd) <= tol)
        if bad.any():
            k = tuple(int(j) for j in np.argwhere(bad)[0]) if n_out else ()
            out = f" output {_fmt(k)}:" if n_out else ""
            dropped = (" f(x + ih) has a real dtype: the imaginary part was dropped."
                       if real_typed else "")
            raise NotComplexSafeError(
                f"complex_step_gradient: f is not complex-safe.{dropped} {what.capitalize()},"
                f"{out} the complex step gives {np.asarray(cs)[k]:.10g} but 4th-order finite "
                f"differences give {np.asarray(fd)[k]:.10g}; " + _NOT_SAFE_HINT)


# -- public: derivatives -------------------------------------------------------------------------


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
    _check_f(f)
    _check_method(method)
    xr = _as_real(x, "x")
    if method == "complex_step":
        return complex_step_gradient(f, xr, h=1e-30 if eps is None else eps)
    return _fd(f, xr, eps, method, scalar=True)


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
    _check_f(f)
    xr = _as_real(x, "x")
    return _complex_step(f, xr, _check_h(h), scalar=True, verify=verify)


def numerical_jacobian(f: Callable[[np.ndarray], Any], x: Any, eps: Any = None,
                       method: str = "central") -> np.ndarray:
    """The Jacobian of an array-valued ``f`` at ``x``: ``J[o + i] = ∂f(x)[o] / ∂x[i]``, of
    shape ``f(x).shape + x.shape`` (for a scalar ``f``, the gradient). ``eps`` and ``method``
    as in :func:`numerical_gradient` (``"complex_step"`` is verified as in
    :func:`complex_step_gradient`)."""
    _check_f(f)
    _check_method(method)
    xr = _as_real(x, "x")
    if method == "complex_step":
        return _complex_step(f, xr, _check_h(1e-30 if eps is None else eps), scalar=False,
                             verify=True)
    return _fd(f, xr, eps, method, scalar=False)


# -- public: asserts -----------------------------------------------------------------------------


def assert_gradients_close(f: Callable[[np.ndarray], float], x: Any, grad: Any,
                           atol: float = 1e-5, rtol: float = 1e-3, method: str = "central", *,
                           eps: Any = None, names: Sequence[str] | None = None) -> None:
    """Assert that ``grad`` is the gradient of the scalar ``f`` at ``x``.

    Element ``i`` passes when ``|grad[i] − numeric[i]| <= atol + rtol·|numeric[i]|``, the
    numeric gradient taken by ``method`` (see :func:`numerical_gradient`). NaN or inf in
    ``grad`` count as failing elements. ``names`` (one label per element, in C order) names
    the elements in the report, e.g. ``net.param_names``.

    Raises :class:`GradientMismatchError` (an ``AssertionError``) whose message gives the shape,
    how many elements fail, the worst few (index, analytic, numeric, absolute and relative
    error) and, for up to 40 elements, the whole table; ``ValueError`` for bad arguments.
    """
    _check_f(f)
    _check_method(method)
    _check_tol(atol, rtol)
    xr = _as_real(x, "x")
    g = _as_grad(grad, xr.shape, "grad")
    labels = _check_names(names, xr.shape)
    numeric = numerical_gradient(f, xr, eps, method)
    _compare(g, numeric, atol, rtol, method, labels, "gradient")


def assert_vjp_close(f: Callable[[np.ndarray], Any], x: Any, v: Any, vjp: Any,
                     atol: float = 1e-5, rtol: float = 1e-3, method: str = "central", *,
                     eps: Any = None, names: Sequence[str] | None = None) -> None:
    """Assert that ``vjp`` is the backward of ``f`` at ``x``: ``vjp(v) = Jᵀ v``.

    This is the form of the lecture's backward functions: the gradient of the outputs in
    (``v``, of ``f(x)``'s shape: ``y∇``), the gradient of the inputs out (of ``x``'s shape:
    ``x∇ = Σₒ vₒ ∂fₒ/∂x``). ``vjp`` is a callable taking ``v`` (given a copy), or the array it
    returned. ``v=None`` draws a (seeded) standard normal ``v``. The reference is the
    numeric gradient of ``Σ v ⊙ f(x)``; tolerances, ``method`` and the report as in
    :func:`assert_gradients_close`.
    """
    _check_f(f)
    _check_method(method)
    _check_tol(atol, rtol)
    xr = _as_real(x, "x")
    y = np.asarray(f(xr.copy()))
    if y.dtype.kind not in "biuf":
        raise ValueError(f"f(x) returned dtype {y.dtype}; expected real numbers")
    if v is None:
        vr = np.random.default_rng(0).standard_normal(y.shape)
    else:
        vr = _as_real(v, "v")
        if vr.shape != y.shape:
            raise ValueError(f"v: expected the shape of f(x), {y.shape}, got {vr.shape}")
    g = _as_grad(vjp(vr.copy()) if callable(vjp) else vjp, xr.shape, "vjp(v)")
    labels = _check_names(names, xr.shape)
    numeric = numerical_gradient(lambda z: np.sum(vr * f(z)), xr, eps, method)
    _compare(g, numeric, atol, rtol, method, labels, "vector-Jacobian product")


def _as_grad(grad: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    g = _as_real(grad, name, allow_nonfinite=True)      # NaN is a failing element, reported
    if g.shape != shape:
        hint = (" (the transposed gradient?)" if len(shape) == 2 and g.shape == shape[::-1]
                else "")
        raise ValueError(f"{name}: expected the shape of x, {shape}, got {g.shape}{hint}")
    return g


def _check_names(names: Any, shape: tuple[int, ...]) -> list[str] | None:
    if names is None:
        return None
    labels = [str(s) for s in np.asarray(names, dtype=object).ravel()]
    if len(labels) != int(np.prod(shape)):
        raise ValueError(f"names: expected {int(np.prod(shape))} labels, one per element of x, "
                         f"got {len(labels)}")
    return labels


# -- the report ----------------------------------------------------------------------------------

#: arrays up to this many elements get the whole table
FULL_TABLE = 40
#: how many of the worst elements the report lists
WORST = 5


def _fmt(index: Any) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _label(index: tuple[int, ...], shape: tuple[int, ...], names: list[str] | None) -> str:
    if names is not None:
        return names[int(np.ravel_multi_index(index, shape))] if shape else names[0]
    return _fmt(index)


def _compare(analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float, method: str,
             names: list[str] | None, what: str) -> None:
    shape = analytic.shape
    a, n = analytic.ravel(), numeric.ravel()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_err = np.abs(a - n)
        scale = np.maximum(np.abs(a), np.abs(n))
        rel_err = np.where(scale > 0, abs_err / scale, 0.0)
        badness = abs_err / (atol + rtol * np.abs(n))
    badness = np.where(np.isnan(badness), np.inf, badness)
    failed = ~(abs_err <= atol + rtol * np.abs(n))          # NaN fails
    if not failed.any():
        return
    order = np.argsort(-badness, kind="stable")
    failing_flat = [int(i) for i in order if failed[i]]
    failing = [tuple(int(j) for j in np.unravel_index(i, shape)) for i in failing_flat]
    N = a.size

    def row(i: int, status: str = "") -> str:
        idx = tuple(int(j) for j in np.unravel_index(i, shape))
        return (f"  {_label(idx, shape, names):<16}{a[i]:>14.6g}{n[i]:>14.6g}"
                f"{abs_err[i]:>11.2e}{rel_err[i]:>11.2e}{status}")

    header = f"  {'index':<16}{'analytic':>14}{'numeric':>14}{'abs err':>11}{'rel err':>11}"
    method_name = "the complex step" if method == "complex_step" else f"{method} differences"
    worst = failing[0]
    lines = [
        f"{what} check failed: {len(failing)} of {N} elements differ from {method_name}",
        f"  shape {shape}; tolerance |analytic - numeric| <= {atol:g} + {rtol:g}*|numeric|",
        f"  worst {_label(worst, shape, names)}: analytic {a[failing_flat[0]]:.6g}, numeric "
        f"{n[failing_flat[0]]:.6g}",
    ]
    few = failing_flat[:WORST if N > FULL_TABLE else 3]     # the whole table follows if small
    lines += [f"worst {len(few)} failing:", header] + [row(i) for i in few]
    if N <= FULL_TABLE:
        lines += [f"all {N} elements:", header + "  status"]
        lines += [row(i, "  FAIL" if failed[i] else "  ok") for i in range(N)]
    else:
        lines.append(f"({N} elements: the whole table is shown up to {FULL_TABLE})")
    raise GradientMismatchError("\n".join(lines), shape, failing, analytic, numeric, names)
