"""The multilayer perceptron (lecture part 1): sizes, names, and ONE flat parameter buffer.

Layer ``l`` (``0 <= l < L``, ``L = len(sizes) - 1``) computes ``k = W x + b`` and
``h = act(k)`` with ``W`` of shape ``(sizes[l+1], sizes[l])`` and ``b`` of shape
``(sizes[l+1],)``. The last layer uses the output activation, the others the hidden one.

Index convention. The lecture's loop pseudocode (slide 54) writes ``w[i,j]`` for the weight
from input ``i`` to hidden unit ``j`` (``k[j] += w[i,j] * x[i]``). Here the matrix is stored
the other way round, row ``j`` per output unit, so the lecture's ``w[i,j]`` is ``W[j,i]``
(``weights(0)[j, i]``, parameter name ``"W0[j,i]"``, zero-based). The lecture's ``v[i]``
(hidden ``i`` to the output) is ``weights(1)[0, i]``, its ``b[j]`` is ``biases(0)[j]`` and
its ``c`` is ``biases(1)[0]``.

Memory layout. ``params`` is one contiguous, 64-byte aligned float64 array holding
``W0, b0, W1, b1, ...``, each ``W`` row-major. ``weights(l)`` and ``biases(l)`` are views
into it (a reshape copies nothing), so writing to them writes the network. Every engine
returns its gradient in this same layout.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import functions as F
from .files import NpzReader, save_npz
from .memory import aligned_empty
from .validate import check_fits, check_X

#: the members of a model file
MODEL_MEMBERS = ("sizes", "hidden", "output", "loss", "params")


class NetworkBusyError(RuntimeError):
    """A network was asked to train while another thread was training it."""


def glorot_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """A layer's weight matrix, shape ``(n_out, n_in)``, drawn Glorot-uniform from ``rng``:
    each weight from ``U(-a, a)`` with ``a = sqrt(6 / (n_in + n_out))``."""
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_out, n_in))


class MLP:
    """A fully connected network, ``MLP(sizes, hidden, output, loss, seed)``.

    Args:
        sizes: units per layer, input first: ``(2, 3, 1)`` is the lecture's network,
            ``(2, 1)`` a perceptron (no hidden layer).
        hidden: activation of the hidden layers: sigmoid, relu, tanh, identity.
        output: activation of the output layer: identity, sigmoid, softmax.
        loss: squared, absolute, bce (sigmoid output, targets {0,1}), ce (softmax output,
            class indices), hinge (identity output with one unit, targets {-1,1}).
        seed: seed for the Glorot-uniform initialisation (``None``: fresh entropy).
            Biases start at zero.
    """

    def __init__(self, sizes: Any, hidden: str = "sigmoid", output: str = "identity",
                 loss: str = "squared", seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed={seed!r}: expected a non-negative integer or None")
        self._build(sizes, hidden, output, loss)
        rng = np.random.default_rng(seed)
        for l in range(self.num_layers):
            self.weights(l)[...] = glorot_uniform(rng, self.sizes[l], self.sizes[l + 1])

    def _build(self, sizes: Any, hidden: str, output: str, loss: str) -> None:
        """Everything but the initial values: checks, layout, a zeroed buffer (refused
        before allocation when it cannot fit in memory)."""
        sizes = _check_sizes(sizes)
        F.check_combination(sizes, hidden, output, loss)
        self.sizes: tuple[int, ...] = sizes
        self.hidden, self.output, self.loss = hidden, output, loss
        self.num_layers = len(sizes) - 1
        # (start of W, start of b, end) of each layer in the flat buffer
        self._slices: list[tuple[int, int, int]] = []
        p = 0
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            self._slices.append((p, p + n_out * n_in, p + n_out * n_in + n_out))
            p += n_out * n_in + n_out
        check_fits(8 * p, f"a {'-'.join(map(str, sizes))} network ({p:,} parameters)")
        self._params = aligned_empty(p)
        self._params[:] = 0.0
        # the packed description a kernel reads: activations, loss, then the sizes
        self.spec = np.array([F.HIDDEN[hidden], F.OUTPUT[output], F.LOSSES[loss],
                              *sizes], dtype=np.int64)
        self._busy = threading.Lock()

    # -- parameters ---------------------------------------------------------------------------

    @property
    def params(self) -> np.ndarray:
        """Every weight and bias, one contiguous 1-D float64 array (the engines' layout)."""
        return self._params

    @params.setter
    def params(self, value: Any) -> None:
        # copy into the existing buffer, so views from weights()/biases() stay attached
        arr = np.asarray(value)
        if arr.shape != self._params.shape:
            raise ValueError(f"params: expected shape {self._params.shape}, got {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"params: expected real numbers, got dtype {arr.dtype}")
        self._params[:] = arr

    @property
    def num_params(self) -> int:
        return self._params.shape[0]

    def _check_layer(self, l: int) -> int:
        if not isinstance(l, (int, np.integer)) or not -self.num_layers <= l < self.num_layers:
            raise ValueError(f"layer {l!r} out of range: this network has layers 0.."
                             f"{self.num_layers - 1}")
        return int(l) % self.num_layers

    def weights(self, l: int) -> np.ndarray:
        """Layer l's weight matrix W, shape (sizes[l+1], sizes[l]): a writable view."""
        l = self._check_layer(l)
        w0, b0, _ = self._slices[l]
        return self._params[w0:b0].reshape(self.sizes[l + 1], self.sizes[l])

    def biases(self, l: int) -> np.ndarray:
        """Layer l's bias vector b, shape (sizes[l+1],): a writable view."""
        l = self._check_layer(l)
        _, b0, end = self._slices[l]
        return self._params[b0:end]

    def layer_slices(self, l: int) -> tuple[slice, slice]:
        """Where layer l's W and b live in the flat buffer."""
        l = self._check_layer(l)
        w0, b0, end = self._slices[l]
        return slice(w0, b0), slice(b0, end)

    @property
    def param_names(self) -> list[str]:
        """A name for every flat index: ``"W0[2,1]"`` (row 2, column 1 of layer 0's W),
        ``"b1[0]"``."""
        names: list[str] = []
        for l in range(self.num_layers):
            n_in, n_out = self.sizes[l], self.sizes[l + 1]
            names += [f"W{l}[{j},{i}]" for j in range(n_out) for i in range(n_in)]
            names += [f"b{l}[{j}]" for j in range(n_out)]
        return names

    def param_name(self, index: int) -> str:
        """The name of flat index ``index``."""
        kind, l, j, i = self.param_position(index)
        return f"W{l}[{j},{i}]" if kind == "W" else f"b{l}[{j}]"

    def param_position(self, index: int) -> tuple[str, int, int, int | None]:
        """Where flat index ``index`` sits, as ``(kind, layer, j, i)``: ``("W", l, j, i)`` is
        row ``j``, column ``i`` of layer ``l``'s W, ``("b", l, j, None)`` entry ``j`` of its b
        (the parts of :meth:`param_name`, unparsed)."""
        if not isinstance(index, (int, np.integer)) or not 0 <= index < self.num_params:
            raise ValueError(f"parameter index {index!r} out of range [0, {self.num_params})")
        for l, (w0, b0, end) in enumerate(self._slices):
            if index < b0:
                j, i = divmod(int(index) - w0, self.sizes[l])
                return "W", l, j, i
            if index < end:
                return "b", l, int(index) - b0, None
        raise AssertionError("unreachable")

    def param_index(self, name: str) -> int:
        """The flat index of a parameter name such as ``"W0[2,1]"`` or ``"b1[0]"``."""
        m = re.fullmatch(r"\s*([Wb])(\d+)\[\s*(\d+)\s*(?:,\s*(\d+)\s*)?\]\s*", str(name))
        if m is None or (m.group(1) == "W") != (m.group(4) is not None):
            raise ValueError(f"parameter name {name!r} not understood; expected e.g. 'W0[2,1]' "
                             f"or 'b0[2]' (layers 0..{self.num_layers - 1})")
        l = int(m.group(2))
        if l >= self.num_layers:
            raise ValueError(f"parameter {name!r}: layer {l} out of range, this network has "
                             f"layers 0..{self.num_layers - 1}")
        n_in, n_out = self.sizes[l], self.sizes[l + 1]
        w0, b0, _ = self._slices[l]
        j = int(m.group(3))
        if m.group(1) == "W":
            i = int(m.group(4))
            if j >= n_out or i >= n_in:
                raise ValueError(f"parameter {name!r} out of range: W{l} has shape "
                                 f"({n_out}, {n_in})")
            return w0 + j * n_in + i
        if j >= n_out:
            raise ValueError(f"parameter {name!r} out of range: b{l} has shape ({n_out},)")
        return b0 + j

    # -- using the network -----------------------------------------------------------------------

    def predict(self, X: Any) -> np.ndarray:
        """The output layer's values for a batch ``X`` of shape (n, sizes[0]) (probabilities
        for sigmoid and softmax outputs); a 1-D ``X`` is one example and gives a 1-D result."""
        Xc, single = check_X(self, X)
        h = Xc
        for l in range(self.num_layers):
            k = h @ self.weights(l).T + self.biases(l)
            h = F.activate_array(self.output if l == self.num_layers - 1 else self.hidden, k)
        return h[0] if single else h

    def copy(self) -> MLP:
        """An independent copy: same sizes, names and parameter values, its own buffer."""
        new = MLP.__new__(MLP)
        new.__dict__.update(self.__dict__)
        new._slices = list(self._slices)
        new.spec = self.spec.copy()
        new._params = aligned_empty(self.num_params)
        new._params[:] = self._params
        new._busy = threading.Lock()
        return new

    def __getstate__(self) -> dict[str, Any]:
        # a lock cannot be pickled (multiprocessing sends networks so) nor deep-copied; each
        # copy gets its own guard
        state = self.__dict__.copy()
        del state["_busy"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._busy = threading.Lock()

    @contextmanager
    def exclusive(self, task: str = "training") -> Iterator[MLP]:
        """Hold this network for ``task`` (training changes ``params`` in place): a second
        holder, from another thread, gets :class:`NetworkBusyError` at once instead of a
        silent race. Networks that are not shared train in parallel freely."""
        if not self._busy.acquire(blocking=False):
            raise NetworkBusyError(
                f"{task}: this network is already being trained (another thread holds it); "
                "two updates at once would mix their steps. Train a copy (net.copy()) in "
                "each thread, or wait for the other to finish.")
        try:
            yield self
        finally:
            self._busy.release()

    def save(self, path: str | os.PathLike) -> str:
        """Write the network to ``.npz`` (sizes, names, parameters; no pickle), atomically:
        a failure or an interrupt mid-save leaves any previous file as it was. ``.npz`` is
        appended only to a name without a suffix. Returns the path written."""
        return save_npz(path, {"sizes": np.array(self.sizes, dtype=np.int64),
                               "hidden": np.array(self.hidden), "output": np.array(self.output),
                               "loss": np.array(self.loss), "params": self._params})

    @classmethod
    def load(cls, path: str | os.PathLike) -> MLP:
        """Read a network written by :meth:`save`; the parameters round-trip exactly.

        Nothing in the file is trusted: every member's dtype and shape, and the size of
        ``params`` against ``sizes``, are checked before anything is allocated; anything
        wrong is a one-line ``ValueError`` naming the file."""
        with NpzReader(path, "model file") as f:
            m = f.members
            missing = sorted(set(MODEL_MEMBERS) - set(m))
            if missing:
                raise f.error(f"not a scalarprop model, missing keys {missing} (found {sorted(m)})")
            for key in ("hidden", "output", "loss"):
                if m[key].dtype.kind != "U" or m[key].shape != () or m[key].nbytes > 256:
                    raise f.error(f"{key} must be a short text scalar, got {m[key].dtype} "
                                  f"of shape {m[key].shape}")
            s = m["sizes"]
            if s.dtype.kind not in "iu" or len(s.shape) != 1 or not 2 <= s.shape[0] <= 1024:
                raise f.error(f"sizes must be a 1-D array of 2 to 1024 integers (layer widths), "
                              f"got {s.dtype} of shape {s.shape}")
            p = m["params"]
            if p.dtype != np.float64 or len(p.shape) != 1:
                raise f.error(f"params must be a 1-D float64 array, got {p.dtype} of shape "
                              f"{p.shape}")
            sizes = [int(v) for v in f.read("sizes")]
            if min(sizes) < 1:
                raise f.error(f"sizes {sizes}: layer widths must be positive integers")
            need = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
            if p.shape[0] != need:
                raise f.error(f"params has {p.shape[0]:,} entries, the sizes {sizes} need "
                              f"{need:,}")
            names = {key: str(f.read(key)) for key in ("hidden", "output", "loss")}
            params = f.read("params")
        net = cls.__new__(cls)
        try:
            net._build(sizes, **names)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None
        net._params[:] = params
        return net

    def __repr__(self) -> str:
        return (f"MLP(sizes={list(self.sizes)}, hidden={self.hidden!r}, "
                f"output={self.output!r}, loss={self.loss!r})  # {self.num_params} parameters")


def _check_sizes(sizes: Any) -> tuple[int, ...]:
    try:
        out = tuple(sizes)
    except TypeError:
        raise ValueError(f"sizes: expected a sequence of layer widths such as (2, 3, 1), got "
                         f"{sizes!r}") from None
    if len(out) < 2:
        raise ValueError(f"sizes: need at least an input and an output layer, got {sizes!r}")
    for i, s in enumerate(out):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"sizes[{i}] = {s!r}: layer widths must be positive integers")
    return tuple(int(s) for s in out)
