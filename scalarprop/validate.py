"""Input checking at the Python boundary.

Numba does not check bounds: an unchecked shape or label is a silent wrong answer or a crash.
So every public entry point sends its input through here first, and a compiled kernel only ever
sees C-contiguous float64 arrays of the shapes it expects. Every error names the argument and
says what was expected.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .network import MLP


def as_float_array(a: Any, name: str, contiguous: bool = True) -> np.ndarray:
    """``a`` as a float64 array, C-contiguous unless ``contiguous=False``, copied only when it
    is not one already; ints and bools are converted, complex, object and string arrays are
    refused with a ValueError naming ``name``."""
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name}: cannot be read as a numeric array ({exc})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name}: complex dtype {arr.dtype} is not supported; expected real "
                         "float64 values")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: dtype {arr.dtype} is not numeric; expected float64 values")
    if contiguous:
        return np.ascontiguousarray(arr, dtype=np.float64)
    return np.asarray(arr, dtype=np.float64)


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = ", ".join(str(i) for i in bad)
        raise ValueError(f"{name}: contains NaN or inf (first at index [{where}], value "
                         f"{arr[tuple(bad)]})")


def check_X(net: MLP, X: Any, name: str = "X") -> tuple[np.ndarray, bool]:
    """Return ``(X, single)``: X as an ``(n, sizes[0])`` float64 C-contiguous array, and
    whether the caller gave one example as a 1-D vector."""
    arr = as_float_array(X, name)
    n_in = net.sizes[0]
    single = arr.ndim == 1
    if single:
        if arr.shape[0] != n_in:
            raise ValueError(f"{name}: a single example must have shape ({n_in},), got "
                             f"{arr.shape}")
        arr = arr.reshape(1, n_in)
    elif arr.ndim != 2 or arr.shape[1] != n_in:
        raise ValueError(f"{name}: expected shape (n, {n_in}) for a network with "
                         f"sizes={net.sizes}, got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: empty batch (0 examples)")
    _check_finite(arr, name)
    return arr, single


def check_T(net: MLP, T: Any, n: int, name: str = "T") -> np.ndarray:
    """Targets packed for the kernels: float64 of shape ``(n, m)``, where ``m = 1`` holding the
    class index for ``ce`` and ``m = sizes[-1]`` otherwise. Values are checked against the loss:
    class indices in ``[0, K)`` for ce, {0, 1} for bce, {-1, 1} for hinge."""
    arr = as_float_array(T, name)
    n_out = net.sizes[-1]
    loss = net.loss
    _check_finite(arr, name)
    if loss == "ce":
        if arr.size != n or arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != 1):
            raise ValueError(f"{name}: loss='ce' expects {n} class indices, shape ({n},), got "
                             f"shape {arr.shape}")
        flat = arr.reshape(n)
        bad = (flat != np.round(flat)) | (flat < 0) | (flat >= n_out)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] = {flat[i]}: class labels must be integers in "
                             f"[0, {n_out}) for {n_out} outputs")
        return np.ascontiguousarray(flat.reshape(n, 1))
    if arr.ndim == 0 or (arr.ndim == 1 and n == 1 and arr.shape[0] == n_out):
        arr = arr.reshape(1, -1)
    elif arr.ndim == 1 and n_out == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape != (n, n_out):
        want = f"({n},) or ({n}, 1)" if n_out == 1 else f"({n}, {n_out})"
        raise ValueError(f"{name}: expected shape {want} for {n} examples and {n_out} outputs, "
                         f"got {np.shape(T)}")
    allowed = {"bce": (0.0, 1.0), "hinge": (-1.0, 1.0)}.get(loss)
    if allowed is not None:
        bad = ~np.isin(arr, allowed)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"{name}[{i}, {j}] = {arr[i, j]}: loss={loss!r} expects targets in "
                             f"{{{allowed[0]:g}, {allowed[1]:g}}}")
    return np.ascontiguousarray(arr)


def check_batch(net: MLP, X: Any, T: Any, names: tuple[str, str] = ("X", "T")
                ) -> tuple[np.ndarray, np.ndarray]:
    """Check a batch (X, T) against ``net``; returns the arrays a kernel may see."""
    Xc, _ = check_X(net, X, names[0])
    Tc = check_T(net, T, Xc.shape[0], names[1])
    return Xc, Tc


def available_memory() -> int:
    """Bytes of memory this process may still take: ``MemAvailable`` on Linux, else the
    physical memory (an upper bound is the safe side for a refusal)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62          # unknown: refuse nothing


def format_bytes(n: int) -> str:
    """``8_000_000_000`` -> ``"7.5 GiB"``."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_fits(nbytes: int, what: str) -> None:
    """A ``ValueError`` naming the figure when ``nbytes`` exceed the memory available, so a
    network or data set too large is refused before anything is allocated (instead of a
    ``MemoryError`` traceback, or a machine swapping for minutes)."""
    free = available_memory()
    if nbytes > free:
        raise ValueError(f"{what} needs {format_bytes(nbytes)} of memory; this machine has "
                         f"{format_bytes(free)} available")


def check_params(net: MLP) -> None:
    """Parameters a run may start from: all finite (training from inf or NaN would only
    spread them), else a ``ValueError`` naming the first bad parameter."""
    bad = ~np.isfinite(net.params)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"net.params: {net.param_name(i)} (index {i}) = {net.params[i]}; "
                         f"{int(bad.sum())} parameter(s) are NaN or inf, and training cannot "
                         "start from them")


def finite_updates(epoch: Callable[..., int]) -> Callable[..., int]:
    """An engine's ``train_epoch`` that keeps the contract for updates too.

    The engines check each step's loss and gradient, not the parameters an update makes: a
    finite gradient times a huge learning rate can overflow to inf, and the next step would
    start from it. So after the call the parameters are checked (one pass, against a call's
    many); if any is NaN or inf, the call's steps are replayed one at a time from its start
    (the same updates, step by step) and the first step whose loss or gradient is not finite,
    or whose update makes a parameter NaN or inf, is left undone and returned.
    """

    @functools.wraps(epoch)
    def train_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray,
                    batch_size: int, lr: float, step_loss: np.ndarray) -> int:
        params = net.params
        before = params.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            failed = epoch(net, X, T, order, batch_size, lr, step_loss)
        if np.isfinite(params).all():
            return failed
        np.copyto(params, before)
        for s in range((len(order) + batch_size - 1) // batch_size):
            np.copyto(before, params)
            with np.errstate(over="ignore", invalid="ignore"):
                failed = epoch(net, X, T, order[s * batch_size:(s + 1) * batch_size],
                               batch_size, lr, step_loss[s:s + 1])
            if failed >= 0 or not np.isfinite(params).all():
                np.copyto(params, before)
                return s
        return -1

    return train_epoch
