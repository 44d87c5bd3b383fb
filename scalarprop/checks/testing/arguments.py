"""The oracle's vocabulary: its two errors, its argument checks, and how it names an element.

Every public function of :mod:`scalarprop.testing` checks its arguments here, at the
boundary, with a ``ValueError`` that names the argument and says what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: the rounding unit of float64, u = 2^-52
U = float(np.finfo(np.float64).eps)
METHODS = ("central", "forward", "richardson", "complex_step")
TOLERANCES = ("auto", "fixed")
#: torch.autograd.gradcheck's tolerances: what tolerance="fixed" uses when none is given
FIXED_ATOL, FIXED_RTOL = 1e-5, 1e-3


class NotComplexSafeError(ValueError):
    """``f`` cannot be differentiated by the complex step: it drops the imaginary part of its
    input (or is not analytic there), so ``Im f(x + ih) / h`` would be silently wrong."""


class GradientMismatchError(AssertionError):
    """Raised by the ``assert_*_close`` functions when a derivative is wrong.

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
        return label(self.worst, self.shape, self.names)


def index_text(index: Any) -> str:
    """``(1, 2)`` -> ``"[1, 2]"``."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def label(index: tuple[int, ...], shape: tuple[int, ...], names: list[str] | None) -> str:
    """An element's name: its label if names were given, else its index."""
    if names is not None:
        return names[int(np.ravel_multi_index(index, shape))] if shape else names[0]
    return index_text(index)


def as_real(a: Any, name: str, allow_nonfinite: bool = False) -> np.ndarray:
    """A float64 copy of ``a``; complex, object and string input refused."""
    try:
        arr = np.array(a)
    except Exception as exc:
        raise ValueError(f"{name}: cannot be read as a numeric array ({exc})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name}: complex dtype {arr.dtype}; expected real float64 values")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: dtype {arr.dtype} is not numeric; expected float64 values")
    if arr.size == 0:
        raise ValueError(f"{name}: empty (shape {arr.shape}); expected at least one number")
    arr = arr.astype(np.float64)
    if not allow_nonfinite and not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(np.atleast_1d(arr)))[0])
        where = index_text(bad) if arr.ndim else ""
        raise ValueError(f"{name}: contains NaN or inf (first at {where or 'the value'}, "
                         f"value {np.atleast_1d(arr)[bad]})")
    return arr


def check_f(f: Any, name: str = "f") -> None:
    if not callable(f):
        raise ValueError(f"{name}: expected a callable, got {type(f).__name__}")


def check_method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {list(METHODS)}")
    return method


def check_nonnegative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r}: expected a finite number >= 0")
    return float(value)


def check_seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"seed={value!r}: expected an integer >= 0")
    return int(value)


def check_count(value: Any, name: str) -> int:
    """A positive integer (``directions``, ``limit``, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name}={value!r}: expected a positive integer")
    return int(value)


def resolve_tolerance(tolerance: Any, atol: Any, rtol: Any, method: str
                      ) -> tuple[str, float, float]:
    """``(rule, atol, rtol)``: "auto" (the estimated error decides) unless ``atol`` or
    ``rtol`` is given or ``tolerance="fixed"``: then ``|a − n| <= atol + rtol·|n|``."""
    if tolerance not in TOLERANCES:
        raise ValueError(f"tolerance={tolerance!r}: expected one of {list(TOLERANCES)}")
    if atol is None and rtol is None and tolerance == "auto":
        if method == "forward":
            raise ValueError("method='forward' with tolerance='auto': the error estimate "
                             "needs central differences; give atol/rtol, or another method")
        return "auto", 0.0, 0.0
    if atol is None and rtol is None:
        return "fixed", FIXED_ATOL, FIXED_RTOL
    return ("fixed", check_nonnegative(0.0 if atol is None else atol, "atol"),
            check_nonnegative(0.0 if rtol is None else rtol, "rtol"))


def as_grad(grad: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """The derivative under test: x's shape; NaN and inf allowed (they fail, reported)."""
    g = as_real(grad, name, allow_nonfinite=True)
    if g.shape != shape:
        hint = (" (the transposed gradient?)" if len(shape) == 2 and g.shape == shape[::-1]
                else "")
        raise ValueError(f"{name}: expected the shape of x, {shape}, got {g.shape}{hint}")
    return g


def check_names(names: Sequence[str] | None, shape: tuple[int, ...]) -> list[str] | None:
    if names is None:
        return None
    labels = [str(s) for s in np.asarray(names, dtype=object).ravel()]
    if len(labels) != int(np.prod(shape)):
        raise ValueError(f"names: expected {int(np.prod(shape))} labels, one per element of x, "
                         f"got {len(labels)}")
    return labels
