"""The verdict and its report: which elements fail, worst first, each beside its tolerance.

Two rules decide an element ``i``:

* ``"auto"``: ``|analyticᵢ − numericᵢ| <= FACTOR · estimatedᵢ``, the numeric derivative's
  own estimated error (:mod:`.differences`, :func:`.complex_step.complex_step_error`);
* ``"fixed"``: ``|analyticᵢ − numericᵢ| <= atol + rtol · |numericᵢ|``.

NaN or inf in the analytic derivative always fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arguments import GradientMismatchError, label

#: how many estimated errors an element may be off (the estimate is of the right size, not a
#: bound: a small safety factor, measured by benchmarks/fd_rates.py)
FACTOR = 10.0
#: arrays up to this many elements get the whole table
FULL_TABLE = 40
#: how many of the worst elements the report lists
WORST = 5


@dataclass
class Tolerance:
    """The rule an element is held to: ``allowed()`` per element."""

    rule: str                       # "auto" or "fixed"
    atol: float = 0.0
    rtol: float = 0.0
    estimated: np.ndarray | None = None     # the numeric derivative's error, for "auto"

    def allowed(self, numeric: np.ndarray) -> np.ndarray:
        if self.rule == "auto":
            return FACTOR * np.asarray(self.estimated, dtype=float).ravel()
        return self.atol + self.rtol * np.abs(numeric)

    def describe(self) -> str:
        if self.rule == "auto":
            return (f"tolerance auto: |analytic - numeric| <= {FACTOR:g} x the estimated "
                    "error of numeric (column est err)")
        return f"tolerance |analytic - numeric| <= {self.atol:g} + {self.rtol:g}*|numeric|"


def failing_elements(analytic: np.ndarray, numeric: np.ndarray, tolerance: Tolerance
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(failed, badness)`` per flat element; badness = error / allowed (NaN: inf)."""
    a, n = analytic.ravel(), numeric.ravel()
    allowed = tolerance.allowed(n)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        error = np.abs(a - n)
        badness = error / allowed
    failed = ~(error <= allowed)                      # NaN fails
    badness = np.where(np.isnan(badness), np.where(failed, np.inf, 0.0), badness)
    return failed, badness


def compare(analytic: np.ndarray, numeric: np.ndarray, tolerance: Tolerance, method: str,
            names: list[str] | None, what: str) -> None:
    """Raise :class:`GradientMismatchError` with the report if any element fails."""
    failed, badness = failing_elements(analytic, numeric, tolerance)
    if not failed.any():
        return
    shape = analytic.shape
    a, n = analytic.ravel(), numeric.ravel()
    est = None if tolerance.estimated is None else np.asarray(tolerance.estimated).ravel()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_err = np.abs(a - n)
        scale = np.maximum(np.abs(a), np.abs(n))
        rel_err = np.where(scale > 0, abs_err / scale, 0.0)
    order = np.argsort(-badness, kind="stable")
    failing_flat = [int(i) for i in order if failed[i]]
    failing = [tuple(int(j) for j in np.unravel_index(i, shape)) for i in failing_flat]
    N = a.size

    def row(i: int, status: str = "") -> str:
        idx = tuple(int(j) for j in np.unravel_index(i, shape))
        estimated = f"{est[i]:>11.2e}" if est is not None else ""
        return (f"  {label(idx, shape, names):<16}{a[i]:>14.6g}{n[i]:>14.6g}"
                f"{abs_err[i]:>11.2e}{rel_err[i]:>11.2e}{estimated}{status}")

    header = f"  {'index':<16}{'analytic':>14}{'numeric':>14}{'abs err':>11}{'rel err':>11}"
    if est is not None:
        header += f"{'est err':>11}"
    if method == "complex_step":
        method_name = "the complex step"
    elif tolerance.rule == "auto":
        method_name = "Richardson differences"
    else:
        method_name = f"{method} differences"
    worst = failing[0]
    lines = [
        f"{what} check failed: {len(failing)} of {N} elements differ from {method_name}",
        f"  shape {shape}; {tolerance.describe()}",
        f"  worst {label(worst, shape, names)}: analytic {a[failing_flat[0]]:.6g}, numeric "
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
