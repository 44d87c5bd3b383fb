"""Finite differences over a network, and the node-by-node agreement of two engines.

Backpropagation's gradient is checked against the central difference quotient (slide 39)::

    dl/dθ ≈ (l(θ + ε) − l(θ − ε)) / 2ε        error O(ε²) truncation + O(u/ε) rounding

one parameter at a time, in float64, with the parameters restored afterwards. Where the loss
has a kink inside ``[θ − ε, θ + ε]`` (a ReLU unit, ``|y − t|`` or a hinge margin at 0: common
with zero biases, where a dead layer makes the next ``k`` exactly 0) the central quotient is
the average of two different one-sided slopes and agrees with neither; such a parameter is
reported "at a kink" with both one-sided quotients, not counted as a failure nor hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import functions as F
from ..engines import get_engine
from ..validate import check_batch


@dataclass
class GradientCheck:
    """The outcome of :func:`check_gradients`. ``str()`` is a readable report."""

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
    eps: float
    method: str = "central"
    note: str = ""
    abs_error: np.ndarray = field(init=False)
    rel_error: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.abs_error = np.abs(self.analytic - self.numeric)
        scale = np.maximum(np.abs(self.analytic), np.abs(self.numeric))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.rel_error = np.where(scale > 0, self.abs_error / scale, 0.0)

    @property
    def ok(self) -> bool:
        return not bool(self.failed.any())

    def _counted(self) -> np.ndarray:
        return ~self.at_kink

    @property
    def max_abs_error(self) -> float:
        m = self._counted()
        return float(self.abs_error[m].max()) if m.any() else 0.0

    @property
    def max_rel_error(self) -> float:
        m = self._counted()
        return float(self.rel_error[m].max()) if m.any() else 0.0

    def _badness(self) -> np.ndarray:
        # how many tolerances away each parameter is; kinks do not count
        with np.errstate(divide="ignore", invalid="ignore"):
            b = self.abs_error / (self.atol + self.rtol * np.abs(self.numeric))
        # 0/0 is exact agreement at zero tolerance; NaN elsewhere (a NaN gradient) is worst
        b = np.where(np.isnan(b), np.where(self.failed, np.inf, 0.0), b)
        return np.where(self.at_kink, -np.inf, b)

    @property
    def worst(self) -> str:
        """The name of the parameter furthest outside its tolerance (or closest to it)."""
        return self.names[int(np.argmax(self._badness()))]

    @property
    def failures(self) -> list[str]:
        return [self.names[i] for i in np.flatnonzero(self.failed)]

    @property
    def kinks(self) -> list[str]:
        return [self.names[i] for i in np.flatnonzero(self.at_kink)]

    def __str__(self) -> str:
        P = len(self.names)
        status = "OK" if self.ok else "FAILED"
        lines = [
            f"gradient check ({self.engine} engine vs {self.method} differences, "
            f"eps={self.eps:g}): {status}",
            f"  {P} parameters, {int(self.failed.sum())} failed, {int(self.at_kink.sum())} at "
            f"a kink; tolerance |analytic - numeric| <= {self.atol:g} + {self.rtol:g}*|numeric|",
            f"  max abs error {self.max_abs_error:.3e}, max rel error {self.max_rel_error:.3e},"
            f" worst {self.worst}",
        ]
        if self.note:
            lines.append(f"  note: {self.note}")
        if P <= 40:
            rows = range(P)
        else:
            order = np.argsort(-self._badness())
            rows = sorted(set(order[:10].tolist()) | set(np.flatnonzero(self.failed)[:20])
                          | set(np.flatnonzero(self.at_kink)[:10]))
        header = f"  {'parameter':<14}{'analytic':>14}{'numeric':>14}{'abs err':>11}" \
                 f"{'rel err':>11}  status"
        lines += [header, "  " + "-" * (len(header) + 4)]
        for i in rows:
            if self.at_kink[i]:
                st = (f"at a kink: one-sided {self.backward_quotient[i]:.6g} | "
                      f"{self.forward_quotient[i]:.6g}")
            else:
                st = "FAIL" if self.failed[i] else "ok"
            lines.append(f"  {self.names[i]:<14}{self.analytic[i]:>14.6g}"
                         f"{self.numeric[i]:>14.6g}{self.abs_error[i]:>11.2e}"
                         f"{self.rel_error[i]:>11.2e}  {st}")
        if P > 40:
            lines.append(f"  ({len(rows)} of {P} rows shown: the worst, the failures, the kinks)")
        return "\n".join(lines)


def check_gradients(net: Any, X: Any, T: Any, engine: str = "scalar", eps: float = 1e-6,
                    atol: float = 1e-5, rtol: float = 1e-3, raise_on_failure: bool = False,
                    method: str = "central") -> GradientCheck:
    """Compare ``engine``'s gradient with central finite differences over every parameter.

    The loss for the difference quotients is evaluated by the same engine (forward only).
    The parameters are restored exactly afterwards, also when something fails.
    ``raise_on_failure=True`` raises ``AssertionError`` with the report.
    ``method="complex_step"`` is provided by :mod:`scalarprop.testing`.
    """
    for name, value, positive in (("eps", eps, True), ("atol", atol, False),
                                  ("rtol", rtol, False)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                or not np.isfinite(value) or value < 0 or (positive and value == 0):
            kind = "positive" if positive else "non-negative"
            raise ValueError(f"{name}={value!r}: expected a {kind} finite number")
    if method not in ("central", "complex_step"):
        raise ValueError(f"method={method!r}: expected 'central' or 'complex_step'")
    eng = get_engine(engine)
    Xc, Tc = check_batch(net, X, T)
    if method == "complex_step":
        result = _complex_step(net, Xc, Tc, eng, eps, atol, rtol)
    else:
        result = _central(net, Xc, Tc, eng, eps, atol, rtol)
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


def at_kink(net: Any, analytic: np.ndarray, fwd: np.ndarray, bwd: np.ndarray, atol: float,
            rtol: float) -> np.ndarray:
    """Which parameters sit at a kink inside ``[θ-ε, θ+ε]``: the two one-sided slopes
    disagree by more than curvature explains, and backprop's value is one of them (or between
    them). Flagged even where the central quotient happens to agree (|y-t| is symmetric),
    never hidden. Only networks with a kinked piece (relu, absolute, hinge) have kinks."""
    if not (net.hidden in F.KINKED_ACTIVATIONS or net.loss in F.KINKED_LOSSES):
        return np.zeros(np.shape(analytic), dtype=bool)
    lo, hi = np.minimum(fwd, bwd), np.maximum(fwd, bwd)
    tol_side = atol + rtol * np.maximum(np.abs(fwd), np.abs(bwd))
    jump = (hi - lo) > 2 * tol_side
    inside = (analytic >= lo - tol_side) & (analytic <= hi + tol_side)
    return jump & inside


def _central(net: Any, X: np.ndarray, T: np.ndarray, eng: Any, eps: float, atol: float,
             rtol: float, note: str = "") -> GradientCheck:
    _, analytic = eng.loss_and_grad(net, X, T)
    numeric, fwd, bwd = difference_quotients(net, X, T, eng, eps)
    bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))   # NaN counts as bad
    kink = at_kink(net, analytic, fwd, bwd, atol, rtol)
    return GradientCheck(eng.name, net.param_names, analytic, numeric, fwd, bwd,
                         bad & ~kink, kink, atol, rtol, eps, "central", note)


def _complex_step(net: Any, X: np.ndarray, T: np.ndarray, eng: Any, eps: float, atol: float,
                  rtol: float, h: float = 1e-30) -> GradientCheck:
    """Every parameter's derivative by the complex step through the vectorized engine's
    forward pass (:func:`scalarprop.vectorized.loss_at`), against ``eng``'s gradient.
    Networks with relu hidden units, the absolute or the hinge loss are not analytic: they
    get central differences (step ``eps``), and the report's note says so."""
    from ..engines import vectorized
    from .testing import complex_step_gradient

    parts = vectorized.complex_unsafe_parts(net)
    if parts:
        note = (f"the complex step needs an analytic loss and {' and '.join(parts)} "
                f"{'is' if len(parts) == 1 else 'are'} not (abs/max): fell back to central "
                f"differences, eps={eps:g}")
        return _central(net, X, T, eng, eps, atol, rtol, note=note)
    _, analytic = eng.loss_and_grad(net, X, T)
    numeric = complex_step_gradient(lambda p: vectorized.loss_at(net, p, X, T),
                                    net.params.copy(), h=h, verify=False)
    failed = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
    note = (f"complex step Im l(θ + ih e_q)/h, h={h:g}, through the vectorized engine's "
            "forward pass: exact to rounding, no kinks")
    return GradientCheck(eng.name, net.param_names, analytic, numeric, numeric.copy(),
                         numeric.copy(), failed, np.zeros(len(numeric), dtype=bool), atol, rtol,
                         h, "complex_step", note)
