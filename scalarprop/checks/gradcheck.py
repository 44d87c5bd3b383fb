"""Finite differences over a network: every parameter of an engine's gradient checked.

Backpropagation's gradient is checked against difference quotients (slide 39)::

    dl/dθ ≈ D(ε) = (l(θ + ε) − l(θ − ε)) / 2ε      error O(ε²) truncation + O(u/ε) rounding

one parameter at a time, in float64, with the parameters restored afterwards. By default
(``tolerance="auto"``) each parameter is held to the estimated error of its own numeric
derivative: two steps ``ε`` and ``ε/2`` give Richardson's extrapolation and the size of the
truncation error, the spread of the five loss values the rounding (see
:mod:`scalarprop.testing`'s ``differences``). ``atol``/``rtol`` choose torch's fixed rule.

Where the loss has a kink inside ``[θ − ε, θ + ε]`` (a ReLU unit, ``|y − t|`` or a hinge
margin at 0: common with zero biases, where a dead layer makes the next ``k`` exactly 0) the
central quotient is the average of two different one-sided slopes and agrees with neither;
such a parameter is reported "at a kink" with both one-sided quotients, not counted as a
failure nor hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import functions as F
from ..engines import get_engine
from ..validate import check_batch
from .testing.arguments import U, check_count, resolve_tolerance
from .testing.complex_step import complex_step_error
from .testing.differences import STEP_AUTO, richardson_estimate, steps
from .testing.directional import DirectionalCheck, directional_check
from .testing.report import FACTOR, Tolerance, failing_elements

#: the step of the fixed rule's central differences
FIXED_EPS = 1e-6


@dataclass
class GradientCheck:
    """The outcome of :func:`check_gradients`. ``str()`` is a readable report.

    ``estimated`` holds each parameter's estimated numeric error (``tolerance="auto"``; None
    for the fixed rule), shown beside the actual ``abs_error`` in the report.
    """

    engine: str
    names: list[str]
    analytic: np.ndarray
    numeric: np.ndarray
    forward_quotient: np.ndarray
    backward_quotient: np.ndarray
    failed: np.ndarray            # bool per parameter
    at_kink: np.ndarray           # bool per parameter
    atol: float
    rtol: float
    eps: float | None
    method: str = "central"
    note: str = ""
    estimated: np.ndarray | None = None
    abs_error: np.ndarray = field(init=False)
    rel_error: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.abs_error = np.abs(self.analytic - self.numeric)
        scale = np.maximum(np.abs(self.analytic), np.abs(self.numeric))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.rel_error = np.where(scale > 0, self.abs_error / scale, 0.0)

    @property
    def tolerance(self) -> Tolerance:
        if self.estimated is not None:
            return Tolerance("auto", estimated=self.estimated)
        return Tolerance("fixed", self.atol, self.rtol)

    @property
    def ok(self) -> bool:
        return not bool(self.failed.any())

    def counted(self) -> np.ndarray:
        return ~self.at_kink

    @property
    def max_abs_error(self) -> float:
        m = self.counted()
        return float(self.abs_error[m].max()) if m.any() else 0.0

    @property
    def max_rel_error(self) -> float:
        m = self.counted()
        return float(self.rel_error[m].max()) if m.any() else 0.0

    def badness(self) -> np.ndarray:
        """How many tolerances away each parameter is (NaN: inf); kinks do not count."""
        _, b = failing_elements(self.analytic, self.numeric, self.tolerance)
        return np.where(self.at_kink, -np.inf, b)

    @property
    def worst(self) -> str:
        """The name of the parameter furthest outside its tolerance (or closest to it)."""
        return self.names[int(np.argmax(self.badness()))]

    @property
    def failures(self) -> list[str]:
        return [self.names[i] for i in np.flatnonzero(self.failed)]

    @property
    def kinks(self) -> list[str]:
        return [self.names[i] for i in np.flatnonzero(self.at_kink)]

    def __str__(self) -> str:
        P = len(self.names)
        status = "OK" if self.ok else "FAILED"
        differences = "Richardson" if self.estimated is not None and \
            self.method == "central" else self.method
        step = "auto" if self.eps is None else f"{self.eps:g}"
        lines = [
            f"gradient check ({self.engine} engine vs {differences} differences, "
            f"eps={step}): {status}",
            f"  {P} parameters, {int(self.failed.sum())} failed, {int(self.at_kink.sum())} at "
            f"a kink; {self.tolerance.describe()}",
            f"  max abs error {self.max_abs_error:.3e}, max rel error {self.max_rel_error:.3e},"
            f" worst {self.worst}",
        ]
        if self.note:
            lines.append(f"  note: {self.note}")
        if P <= 40:
            rows = range(P)
        else:
            order = np.argsort(-self.badness())
            rows = sorted(set(order[:10].tolist()) | set(np.flatnonzero(self.failed)[:20])
                          | set(np.flatnonzero(self.at_kink)[:10]))
        est = self.estimated
        header = f"  {'parameter':<14}{'analytic':>14}{'numeric':>14}{'abs err':>11}" \
                 f"{'rel err':>11}{'est err' if est is not None else '':>11}  status"
        lines += [header, "  " + "-" * (len(header) + 4)]
        for i in rows:
            if self.at_kink[i]:
                st = (f"at a kink: one-sided {self.backward_quotient[i]:.6g} | "
                      f"{self.forward_quotient[i]:.6g}")
            else:
                st = "FAIL" if self.failed[i] else "ok"
            estimated = f"{est[i]:>11.2e}" if est is not None else f"{'':>11}"
            lines.append(f"  {self.names[i]:<14}{self.analytic[i]:>14.6g}"
                         f"{self.numeric[i]:>14.6g}{self.abs_error[i]:>11.2e}"
                         f"{self.rel_error[i]:>11.2e}{estimated}  {st}")
        if P > 40:
            lines.append(f"  ({len(rows)} of {P} rows shown: the worst, the failures, the kinks)")
        return "\n".join(lines)


def check_step(eps: Any) -> float | None:
    if eps is None:
        return None
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) \
            or not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps={eps!r}: expected a positive finite number (or None)")
    return float(eps)


def check_gradients(net: Any, X: Any, T: Any, engine: str = "scalar", eps: float | None = None,
                    atol: float | None = None, rtol: float | None = None,
                    raise_on_failure: bool = False, method: str = "central", *,
                    tolerance: str = "auto", fast: bool = False, directions: int = 4,
                    seed: int = 0) -> GradientCheck | DirectionalCheck:
    """Compare ``engine``'s gradient with finite differences over every parameter.

    The loss for the difference quotients is evaluated by the same engine (forward only).
    ``tolerance="auto"`` (default) holds each parameter to ``FACTOR`` times its numeric
    derivative's estimated error (steps ``eps`` and ``eps/2``; default
    ``eps = 2e-5·max(|θ|, 1)``); ``atol``/``rtol`` (or ``tolerance="fixed"``) choose
    ``|analytic − numeric| <= atol + rtol·|numeric|`` with central differences, step ``eps``
    (default 1e-6). ``method="complex_step"`` differentiates the vectorized engine's forward
    pass exactly (analytic networks only; others fall back to central differences and the note
    says so).

    ``fast=True`` checks the slope along ``directions`` random unit directions (4 loss
    evaluations each, whatever the number of parameters) and, if one disagrees, narrows it down
    by layer block (``W0``, ``b0``, ...) and then by halving to the wrong parameters; it
    returns a :class:`~scalarprop.testing.DirectionalCheck`.

    The parameters are restored exactly afterwards, also when something fails.
    ``raise_on_failure=True`` raises ``AssertionError`` with the report.
    """
    rule, atol_, rtol_ = resolve_tolerance(tolerance, atol, rtol, "central")
    step = check_step(eps)
    if method not in ("central", "complex_step"):
        raise ValueError(f"method={method!r}: expected 'central' or 'complex_step'")
    eng = get_engine(engine)
    Xc, Tc = check_batch(net, X, T)
    if fast:
        directions = check_count(directions, "directions")
        if rule != "auto" or method != "central":
            raise ValueError("fast=True measures slopes with the auto tolerance of central "
                             "differences: leave method, atol and rtol at their defaults")
        result: GradientCheck | DirectionalCheck = fast_check(net, Xc, Tc, eng, step,
                                                              directions, seed)
    elif method == "complex_step":
        result = complex_step_check(net, Xc, Tc, eng, step, rule, atol_, rtol_)
    elif rule == "auto":
        result = auto_check(net, Xc, Tc, eng, step)
    else:
        result = fixed_check(net, Xc, Tc, eng, FIXED_EPS if step is None else step, atol_,
                             rtol_)
    if raise_on_failure and not result.ok:
        raise AssertionError(str(result))
    return result


def difference_quotients(net: Any, X: np.ndarray, T: np.ndarray, eng: Any, eps: float,
                         indices: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(central, forward, backward)`` difference quotients of ``eng``'s loss for the
    parameters ``indices`` (default: all), on checked ``X``, ``T``; the parameters are
    restored exactly, also when something fails."""
    idx = np.arange(net.num_params) if indices is None else np.asarray(indices, dtype=np.intp)
    saved = net.params.copy()
    f_plus, f_minus = np.empty(len(idx)), np.empty(len(idx))
    try:
        f0 = eng.loss(net, X, T)
        for r, q in enumerate(idx):
            net.params[q] = saved[q] + eps
            f_plus[r] = eng.loss(net, X, T)
            net.params[q] = saved[q] - eps
            f_minus[r] = eng.loss(net, X, T)
            net.params[q] = saved[q]
    finally:
        net.params[:] = saved
    return (f_plus - f_minus) / (2 * eps), (f_plus - f0) / eps, (f0 - f_minus) / eps


def has_kinks(net: Any) -> bool:
    """Only networks with a kinked piece (relu, absolute, hinge) have kinks."""
    return net.hidden in F.KINKED_ACTIVATIONS or net.loss in F.KINKED_LOSSES


def at_kink(net: Any, analytic: np.ndarray, fwd: np.ndarray, bwd: np.ndarray, atol: float,
            rtol: float) -> np.ndarray:
    """Which parameters sit at a kink inside ``[θ-ε, θ+ε]``: the two one-sided slopes
    disagree by more than curvature explains, and backprop's value is one of them (or between
    them). Flagged even where the central quotient happens to agree (|y-t| is symmetric),
    never hidden."""
    if not has_kinks(net):
        return np.zeros(np.shape(analytic), dtype=bool)
    lo, hi = np.minimum(fwd, bwd), np.maximum(fwd, bwd)
    tol_side = atol + rtol * np.maximum(np.abs(fwd), np.abs(bwd))
    jump = (hi - lo) > 2 * tol_side
    inside = (analytic >= lo - tol_side) & (analytic <= hi + tol_side)
    return jump & inside


def kinks_from_two_steps(net: Any, analytic: np.ndarray, one_sided: np.ndarray,
                         estimated: np.ndarray, noise: np.ndarray, step: np.ndarray
                         ) -> np.ndarray:
    """Kinks seen by the two steps: for a smooth loss the gap between the one-sided slopes
    is ``l''·ε`` and halves with the step; across a kink it stays (the jump). Flagged where
    the gap does not halve by more than rounding explains and backprop's value lies between
    the one-sided slopes."""
    if not has_kinks(net):
        return np.zeros(np.shape(analytic), dtype=bool)
    gap, gap_half = one_sided[0] - one_sided[1], one_sided[2] - one_sided[3]
    # rounding of gap_half − gap/2: 8 noise / ε and 2 noise / ε (gap_half, gap/2)
    jump = np.abs(gap_half - gap / 2) > FACTOR * 10 * noise / step
    lo, hi = one_sided.min(axis=0), one_sided.max(axis=0)
    margin = FACTOR * estimated
    inside = (analytic >= lo - margin) & (analytic <= hi + margin)
    return jump & inside


def engine_gradient(net: Any, X: np.ndarray, T: np.ndarray, eng: Any) -> np.ndarray:
    """The engine's gradient, refused if it does not have the layout of ``net.params``."""
    _, grad = eng.loss_and_grad(net, X, T)
    grad = np.asarray(grad, dtype=float)
    if grad.shape != (net.num_params,):
        raise ValueError(f"the {eng.name} engine returned a gradient of shape {grad.shape}; "
                         f"expected ({net.num_params},), the layout of net.params")
    return grad


def auto_check(net: Any, X: np.ndarray, T: np.ndarray, eng: Any, eps: float | None,
               note: str = "") -> GradientCheck:
    analytic = engine_gradient(net, X, T, eng)
    saved = net.params.copy()
    h = steps(saved, eps, "auto")

    def f_at(q: int, value: float, where: str) -> float:
        net.params[q] = value
        try:
            return eng.loss(net, X, T)
        finally:
            net.params[q] = saved[q]

    try:
        f0 = eng.loss(net, X, T)
        # each example's loss is computed from terms of order one (logits, outputs, targets):
        # its rounding is about u even where they cancel to a loss of 0 (a confident ce),
        # where moving a parameter shows no noise at all
        est = richardson_estimate(f_at, f0, saved, h, lambda q, sign, s: "",
                                  noise_floor=U * len(X))
    finally:
        net.params[:] = saved
    tol = Tolerance("auto", estimated=est.error)
    bad, _ = failing_elements(analytic, est.numeric, tol)
    kink = kinks_from_two_steps(net, analytic, est.one_sided, est.error, est.noise, est.step)
    return GradientCheck(eng.name, net.param_names, analytic, est.numeric, est.one_sided[0],
                         est.one_sided[1], bad & ~kink, kink, 0.0, 0.0, eps, "central", note,
                         est.error)


def fixed_check(net: Any, X: np.ndarray, T: np.ndarray, eng: Any, eps: float, atol: float,
                rtol: float, note: str = "") -> GradientCheck:
    analytic = engine_gradient(net, X, T, eng)
    numeric, fwd, bwd = difference_quotients(net, X, T, eng, eps)
    bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))   # NaN counts as bad
    kink = at_kink(net, analytic, fwd, bwd, atol, rtol)
    return GradientCheck(eng.name, net.param_names, analytic, numeric, fwd, bwd,
                         bad & ~kink, kink, atol, rtol, eps, "central", note)


def complex_step_check(net: Any, X: np.ndarray, T: np.ndarray, eng: Any, eps: float | None,
                       rule: str, atol: float, rtol: float, h: float = 1e-30
                       ) -> GradientCheck:
    """Every parameter's derivative by the complex step through the vectorized engine's
    forward pass (:func:`scalarprop.vectorized.loss_at`), against ``eng``'s gradient.
    Networks with relu hidden units, the absolute or the hinge loss are not analytic: they
    get central differences, and the report's note says so."""
    from ..engines import vectorized
    from .testing.complex_step import complex_step_gradient

    parts = vectorized.complex_unsafe_parts(net)
    if parts:
        note = (f"the complex step needs an analytic loss and {' and '.join(parts)} "
                f"{'is' if len(parts) == 1 else 'are'} not (abs/max): fell back to central "
                "differences")
        if rule == "auto":
            return auto_check(net, X, T, eng, eps, note=note)
        return fixed_check(net, X, T, eng, FIXED_EPS if eps is None else eps, atol, rtol,
                           note=note)
    analytic = engine_gradient(net, X, T, eng)
    numeric = complex_step_gradient(lambda p: vectorized.loss_at(net, p, X, T),
                                    net.params.copy(), h=h, verify=False)
    estimated = complex_step_error(numeric) if rule == "auto" else None
    tol = Tolerance(rule, atol, rtol, estimated)
    failed, _ = failing_elements(analytic, numeric, tol)
    note = (f"complex step Im l(θ + ih e_q)/h, h={h:g}, through the vectorized engine's "
            "forward pass: exact to rounding, no kinks")
    return GradientCheck(eng.name, net.param_names, analytic, numeric, numeric.copy(),
                         numeric.copy(), failed, np.zeros(len(numeric), dtype=bool), atol, rtol,
                         h, "complex_step", note, estimated)


def fast_check(net: Any, X: np.ndarray, T: np.ndarray, eng: Any, eps: float | None,
               directions: int, seed: int) -> DirectionalCheck:
    """The directional check with the network's layer blocks (W0, b0, W1, ...)."""
    analytic = engine_gradient(net, X, T, eng)
    saved = net.params.copy()
    blocks = []
    for l in range(net.num_layers):
        for name, part in zip(("W", "b"), net.layer_slices(l)):
            blocks.append((f"{name}{l}", np.arange(part.start, part.stop)))

    def along(v: np.ndarray, t: float) -> float:
        np.add(saved, t * v, out=net.params)
        try:
            return eng.loss(net, X, T)
        finally:
            net.params[:] = saved

    try:
        f0 = eng.loss(net, X, T)
        result = directional_check(along, f0, analytic, saved, net.param_names, blocks,
                                   directions, seed,
                                   step=STEP_AUTO if eps is None else eps)
    finally:
        net.params[:] = saved
    result.engine = eng.name
    return result
