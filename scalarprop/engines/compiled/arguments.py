"""Arguments at the Python boundary: every call of a compiled function checks them here, once,
before any kernel runs (Numba does not check bounds): sizes, dtypes, finiteness, rows of a
batched argument, argument positions (``wrt``, ``batched``) and a visiting order."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...validate import check_fits


def check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    if not sizes:
        raise ValueError("compile(fn, *sizes): give the size of each argument, e.g. "
                         "compile(f, 1) for f(x) with one scalar in x")
    for j, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"sizes[{j}] = {s!r}: each size must be a positive int")
    return tuple(int(s) for s in sizes)


#: what tracing holds per input while it runs (its placeholder and graph node), measured
#: with tracemalloc on a million inputs: about 300 bytes
BYTES_PER_INPUT = 300


def check_function(fn: Any, sizes: tuple[int, ...]) -> None:
    """Before tracing: ``fn`` is a function that takes one list per size, and tracing that
    many inputs fits in memory."""
    if not callable(fn):
        raise ValueError(f"compile(fn, *sizes): fn must be a function, got "
                         f"{type(fn).__name__} {fn!r}")
    try:
        inspect.signature(fn).bind(*sizes)
    except TypeError as exc:
        raise ValueError(f"compile({getattr(fn, '__name__', 'fn')}, "
                         f"{', '.join(map(str, sizes))}): one list of inputs per size is "
                         f"passed, {len(sizes)} in all, but {exc}") from None
    except ValueError:
        pass                # no signature to read (a builtin): the trace will tell
    check_fits(BYTES_PER_INPUT * sum(sizes), f"compile: tracing {sum(sizes)} inputs")


def check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r}: expected True or False")
    return bool(value)


def as_float_array(a: Any, label: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:      # ragged lists
        raise ValueError(f"{label}: not an array of numbers ({exc})") from None
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{label}: expected real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    # one pass that allocates nothing: a NaN or an infinity makes the sum NaN or infinite
    # (an epoch's rows are checked on every call: on 784 inputs this saves ~0.2 µs a row);
    # finite numbers whose sum overflows take the element-wise look and pass it
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total):
        bad = ~np.isfinite(arr)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{label}: not finite ({arr[where]}) at index {list(where)}")
    return arr


def check_array(a: Any, label: str, size: int) -> np.ndarray:
    arr = as_float_array(a, label)
    if arr.shape != (size,):
        raise ValueError(f"{label}: expected {size} number(s), shape ({size},), got shape "
                         f"{arr.shape}")
    return arr


def check_rows(a: Any, label: str, size: int) -> np.ndarray:
    arr = as_float_array(a, label)
    if arr.ndim == 1 and size == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != size or arr.shape[0] == 0:
        raise ValueError(f"{label} is batched: expected rows of {size}, shape (N, {size}) "
                         f"with N >= 1, got shape {arr.shape}")
    return arr


def check_order(order: Any, n: int) -> np.ndarray:
    if order is None:
        return np.arange(n, dtype=np.int64)
    arr = np.asarray(order)
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.size == 0:
        raise ValueError(f"order: expected a non-empty 1-D array of row indices, got {arr!r}")
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(f"order: row indices must lie in [0, {n}), got {arr.min()}.."
                         f"{arr.max()}")
    return arr.astype(np.int64)


def as_indices(x: Any, name: str, n: int) -> tuple[int, ...]:
    items = x if isinstance(x, (tuple, list)) else (x,)
    out = []
    for i in items:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise ValueError(f"{name}={x!r}: expected argument positions (ints)")
        if not 0 <= i < n:
            raise ValueError(f"{name}={x!r}: argument {i} out of range; the function takes "
                             f"{n} argument(s), 0..{n - 1}")
        if i in out:
            raise ValueError(f"{name}={x!r}: argument {i} named twice")
        out.append(int(i))
    return tuple(out)


def argument_names(fn: Callable[..., Any], n: int) -> list[str]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [q.name for q in params if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)]
    if len(names) < n:
        names += [f"arg{j}" for j in range(len(names), n)]
    return names[:n]
