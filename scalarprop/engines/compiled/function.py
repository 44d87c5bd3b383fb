"""``compile(fn, *sizes)``: a traced function and the calls that run it on numbers.

Every call checks its arguments here, once, before any kernel runs (Numba does not check
bounds): the number of arguments, their sizes, dtypes and finiteness, ``wrt`` and
``batched``. The kernels then trust what they get.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...memory import aligned_empty
from . import batch, codegen, fused, ops, tape
from .program import Program, build
from .source import render, render_forward
from .trace import trace

Wrt = int | tuple[int, ...]
BACKENDS = ("auto", "tape", "codegen")


class CompiledFunction:
    """A function of scalars traced once into a program (see :func:`compile`)."""

    def __init__(self, fn: Callable[..., Any], sizes: Sequence[int], backend: str = "auto"
                 ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r}: expected one of {BACKENDS}")
        self.sizes = check_sizes(sizes)
        graph, outputs, vector = trace(fn, self.sizes)
        self.traced_nodes = len(graph)
        self.program: Program = build(graph, outputs, self.sizes)
        self.vector = vector
        self.name = getattr(fn, "__name__", "f")
        self.arg_names = argument_names(fn, len(self.sizes))
        self._need: dict[tuple[int, ...], np.ndarray] = {}
        self.backend = self.choose_backend(backend)
        self._module: Any = None

    def choose_backend(self, backend: str) -> str:
        """"tape", or "codegen" for a small graph with one output: forced, or by "auto" when
        its compiled module is already on disk (the first compile of a new one costs about a
        second, which the tape never does)."""
        small = self.program.num_ops <= codegen.MAX_OPS and not self.vector
        if backend == "codegen" and not small:
            raise ValueError(f"backend='codegen' is for graphs of one output and at most "
                             f"{codegen.MAX_OPS} operations; this one has "
                             f"{self.program.num_ops} and {self.num_outputs} output(s)")
        if backend == "auto":
            return "codegen" if small and codegen.is_cached(self.program) else "tape"
        return backend

    def generated(self) -> Any:
        """The codegen back end's compiled module (loaded on first use)."""
        if self._module is None:
            self._module = codegen.load(self.program)
        return self._module

    def __repr__(self) -> str:
        p = self.program
        return (f"<compiled {self.name}{tuple(self.sizes)}: {p.num_ops} operations, "
                f"{len(p.outputs)} output(s)>")

    @property
    def num_outputs(self) -> int:
        return int(self.program.outputs.shape[0])

    @property
    def source(self) -> str:
        """The forward and the backward walk as readable code (see :mod:`source`), with the
        gradient of every argument."""
        return self.source_code(tuple(range(len(self.sizes))))

    def source_code(self, wrt: Wrt = 0) -> str:
        """The readable code, with the gradients of the arguments ``wrt`` only."""
        if self.vector:
            return render_forward(self.program, self.arg_names, self.name)
        return render(self.program, self.arg_names, self.name,
                      self.need(self.check_wrt(wrt, ())))

    # -- calls ------------------------------------------------------------------------------

    def __call__(self, *args: Any, batched: Sequence[int] = (), per_row: bool = False
                 ) -> Any:
        """The value: a float (an array for a vector output). With ``batched``, the sum over
        rows (and, with ``per_row=True``, also each row's value)."""
        marks = self.check_batched(batched)
        arrays = self.check_args(args, marks)
        p = self.program
        if marks:
            self.require_scalar("a batched call")
            v, B, cols = self.batch_slots(arrays, marks)
            rows = np.empty(B[0].shape[0])
            total = batch.batch_value(p.ins, p.cst, p.runs, p.first, v, int(p.outputs[0]), B,
                                      cols, rows)
            return (float(total), rows) if per_row else float(total)
        if self.backend == "codegen":
            return float(self.generated().f(*arrays))
        v = self.values(arrays)
        tape.forward(p.ins, p.cst, p.runs, p.first, v)
        return self.outputs_of(v)

    def grad(self, *args: Any, wrt: Wrt = 0, batched: Sequence[int] = (),
             per_row: bool = False) -> tuple[Any, ...]:
        """``(value, ∂f/∂args[wrt])``; for a tuple ``wrt``, a tuple of gradients. With
        ``batched``, the value and gradient summed over the rows (the lecture's batch loss),
        in one compiled call; ``per_row=True`` adds each row's value."""
        self.require_scalar("grad (use vjp for a vector output)")
        marks = self.check_batched(batched)
        arrays = self.check_args(args, marks)
        which = self.check_wrt(wrt, marks)
        p = self.program
        need = self.need(which)
        g = np.zeros(p.num_slots)
        out = int(p.outputs[0])
        if marks:
            v, B, cols = self.batch_slots(arrays, marks)
            rows = np.empty(B[0].shape[0])
            total = batch.batch_grad(p.ins, p.cst, p.runs, p.first, v, g, need, out, B, cols,
                                     self.slots(which), rows)
            grads = self.split(g, which, wrt)
            return (float(total), grads, rows) if per_row else (float(total), grads)
        if self.backend == "codegen":
            value, *grads = self.generated().f_grad(*arrays)
            parts = tuple(grads[j].copy() for j in which)
            return float(value), parts if isinstance(wrt, tuple) else parts[0]
        v = self.values(arrays)
        tape.forward(p.ins, p.cst, p.runs, p.first, v)
        g[out] = 1.0
        tape.backward(p.ins, p.cst, p.runs, p.first, v, g, need)
        return float(v[out]), self.split(g, which, wrt)

    def vjp(self, *args_and_u: Any, wrt: Wrt = 0) -> tuple[Any, ...]:
        """``(values, uᵀ J)`` for a vector output: the last positional argument is ``u``, one
        number per output."""
        args, u = args_and_u[:-1], args_and_u[-1]
        arrays = self.check_args(args, ())
        which = self.check_wrt(wrt, ())
        uu = check_array(u, "u", self.num_outputs)
        p = self.program
        v = self.values(arrays)
        tape.forward(p.ins, p.cst, p.runs, p.first, v)
        g = np.zeros(p.num_slots)
        for o, weight in zip(p.outputs, uu):
            g[o] += weight
        tape.backward(p.ins, p.cst, p.runs, p.first, v, g, self.need(which))
        return self.outputs_of(v), self.split(g, which, wrt)

    def jvp(self, *args_and_tangent: Any, wrt: Wrt = 0) -> tuple[Any, Any]:
        """``(value, J · tangent)`` by forward mode: the last positional argument is the
        tangent (a tuple of them for a tuple ``wrt``)."""
        args, t = args_and_tangent[:-1], args_and_tangent[-1]
        arrays = self.check_args(args, ())
        which = self.check_wrt(wrt, ())
        p = self.program
        v = self.values(arrays)
        dv = self.seed(t, which, wrt, "tangent")
        tape.tangent(p.ins, p.cst, p.runs, p.first, v, dv)
        return self.outputs_of(v), self.outputs_of(dv)

    def hvp(self, *args_and_v: Any, wrt: Wrt = 0) -> tuple[float, Any]:
        """``(value, H · v)``, the exact Hessian-vector product (forward over reverse): the
        last positional argument is ``v`` (a tuple of them for a tuple ``wrt``)."""
        self.require_scalar("hvp")
        args, t = args_and_v[:-1], args_and_v[-1]
        arrays = self.check_args(args, ())
        which = self.check_wrt(wrt, ())
        p = self.program
        v = self.values(arrays)
        dv = self.seed(t, which, wrt, "v")
        tape.tangent(p.ins, p.cst, p.runs, p.first, v, dv)
        out = int(p.outputs[0])
        g = np.zeros(p.num_slots)
        dg = np.zeros(p.num_slots)
        g[out] = 1.0
        tape.backward_tangent(p.ins, p.cst, p.runs, p.first, v, dv, g, dg, self.need(which))
        return float(v[out]), self.split(dg, which, wrt)

    def sgd_epoch(self, *args: Any, lr: float, wrt: Wrt = 0, batched: Sequence[int] = (),
                  batch_size: int = 1, order: Any = None) -> np.ndarray:
        """One epoch of gradient descent (slide 18) in one compiled call: a step
        ``θ ← θ − lr · ∇θ`` after every ``batch_size`` rows (1: per example), for the
        arguments ``wrt`` (float64 arrays, updated in place). Rows are visited in ``order``
        (default: 0, 1, ...). Returns each step's summed loss."""
        self.require_scalar("sgd_epoch")
        marks = self.check_batched(batched)
        if not marks:
            raise ValueError("sgd_epoch: batched= must name the arguments that hold the rows")
        arrays = self.check_args(args, marks)
        which = self.check_wrt(wrt, marks)
        for j in which:
            a = args[j]
            if not (isinstance(a, np.ndarray) and a.dtype == np.float64
                    and a.flags.c_contiguous and a.flags.writeable):
                raise ValueError(f"sgd_epoch: argument {j} ({self.arg_names[j]}) is updated "
                                 "in place, so it must be a writable C-contiguous float64 "
                                 "numpy array")
        if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"sgd_epoch: lr must be a positive number, got {lr!r}")
        v, B, cols = self.batch_slots(arrays, marks)
        n = B[0].shape[0]
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"sgd_epoch: batch_size must be a positive int, got {batch_size!r}")
        rows = check_order(order, n)
        step_loss = np.zeros((len(rows) + batch_size - 1) // batch_size)
        p = self.program
        g = np.zeros(p.num_slots)
        need, out, wrt_slots = self.need(which), int(p.outputs[0]), self.slots(which)
        failed = -2
        # the fused epoch pays off where rows are long (on a 2-3-1 network it is slower)
        long_runs = len(p.runs) > 0 and int(p.runs[:, 2].max()) >= tape.SHORT
        if batch_size == 1 and long_runs and self.direct_update(which):
            start = v[wrt_slots]
            look, ahead_arg = self.lookahead(which, marks)
            failed = fused.sgd_epoch_direct(
                p.ins, p.cst, p.runs, p.first, v, g, need, out, B, cols, wrt_slots, rows,
                float(lr), step_loss, look, ahead_arg, np.zeros(len(look)),
                np.zeros(len(look), bool))
            if failed != -1:        # something overflowed: replay, stopping before it
                v[wrt_slots] = start
                failed = -2
        if failed == -2:
            failed = batch.sgd_epoch(p.ins, p.cst, p.runs, p.first, v, g, need, out, B, cols,
                                     wrt_slots, rows, int(batch_size), float(lr), step_loss)
        for j in which:
            args[j][...] = v[p.offsets[j]:p.offsets[j + 1]]
        if failed >= 0:
            raise ValueError(f"sgd_epoch: step {failed}: the loss or gradient is not finite; "
                             "the parameters hold their values from before that step")
        return step_loss

    def nodes(self, *args: Any) -> dict[str, np.ndarray]:
        """Every slot's value after one forward pass (``"value"``) and its gradient, the
        output's derivative with respect to it (``"grad"``), for a function of one output."""
        self.require_scalar("nodes")
        arrays = self.check_args(args, ())
        p = self.program
        v = self.values(arrays)
        tape.forward(p.ins, p.cst, p.runs, p.first, v)
        g = np.zeros(p.num_slots)
        g[int(p.outputs[0])] = 1.0
        tape.backward(p.ins, p.cst, p.runs, p.first, v, g,
                      self.need(tuple(range(len(self.sizes)))))
        return {"value": v, "grad": g}

    # -- the boundary -----------------------------------------------------------------------

    def check_args(self, args: Sequence[Any], marks: tuple[int, ...]) -> list[np.ndarray]:
        if len(args) != len(self.sizes):
            raise ValueError(f"{self.name} takes {len(self.sizes)} argument(s) of sizes "
                             f"{tuple(self.sizes)}, got {len(args)}")
        arrays = []
        rows = None
        for j, (a, size) in enumerate(zip(args, self.sizes)):
            label = f"argument {j} ({self.arg_names[j]})"
            if j in marks:
                arr = check_rows(a, label, size)
                if rows is not None and arr.shape[0] != rows:
                    raise ValueError(f"{label}: {arr.shape[0]} rows, but the batched "
                                     f"arguments before it have {rows}")
                rows = arr.shape[0]
            else:
                arr = check_array(a, label, size)
            arrays.append(arr)
        return arrays

    def check_batched(self, batched: Sequence[int]) -> tuple[int, ...]:
        marks = as_indices(batched, "batched", len(self.sizes))
        return marks

    def check_wrt(self, wrt: Wrt, marks: tuple[int, ...]) -> tuple[int, ...]:
        which = as_indices(wrt, "wrt", len(self.sizes))
        if not which:
            raise ValueError("wrt: name at least one argument")
        for j in which:
            if j in marks:
                raise ValueError(f"wrt={wrt!r}: argument {j} is batched (it holds rows); "
                                 "differentiate with respect to an argument shared by all rows")
        return which

    def require_scalar(self, what: str) -> None:
        if self.vector:
            raise ValueError(f"{what}: {self.name} returns {self.num_outputs} outputs; this "
                             "needs a single scalar output")

    # -- slots ------------------------------------------------------------------------------

    def values(self, arrays: list[np.ndarray]) -> np.ndarray:
        p = self.program
        v = aligned_empty(p.num_slots)      # rows of W start on cache lines, as in scalar_fast
        for j, a in enumerate(arrays):
            v[p.offsets[j]:p.offsets[j + 1]] = a
        v[p.offsets[-1]:p.first] = p.constants
        return v

    def batch_slots(self, arrays: list[np.ndarray], marks: tuple[int, ...]
                    ) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
        p = self.program
        shared = [a if j not in marks else np.zeros(self.sizes[j])
                  for j, a in enumerate(arrays)]
        v = self.values(shared)
        B = tuple(arrays[j] for j in marks)
        cols = np.array([p.offsets[j] for j in marks], dtype=np.int64)
        return v, B, cols

    def slots(self, which: tuple[int, ...]) -> np.ndarray:
        p = self.program
        return np.concatenate([np.arange(p.offsets[j], p.offsets[j + 1]) for j in which])

    def need(self, which: tuple[int, ...]) -> np.ndarray:
        if which not in self._need:
            p = self.program
            need = np.zeros(p.num_slots, dtype=np.bool_)
            need[self.slots(which)] = True
            tape.dependence(p.ins, p.runs, p.first, need)
            self._need[which] = need
        return self._need[which]

    def direct_update(self, which: tuple[int, ...]) -> bool:
        """Can per-example SGD update the parameters inside the backward walk? Yes when each
        is used at most once, as one side of a DOT whose other side is not a parameter: its
        old value is then needed by nobody after its own gradient is known."""
        p = self.program
        param = np.zeros(p.num_slots, dtype=bool)
        param[self.slots(which)] = True
        if param[p.outputs].any() or (p.outputs < p.first).any():
            return False
        arity = np.zeros(p.num_ops, dtype=np.int64)
        codes = p.ins[:, 0]
        arity[np.isin(codes, ops.UNARY)] = 1
        arity[np.isin(codes, ops.BINARY)] = 2
        arity[codes == ops.WHERE] = 3
        for col in (1, 2, 3):
            used = p.ins[arity >= col, col]
            if param[used].any():
                return False
        if len(p.runs) == 0:
            return True
        starts, lengths = p.runs[:, :2], p.runs[:, 2]
        if (param[starts[:, 0]] & param[starts[:, 1]]).any():
            return False
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        used = np.concatenate([np.repeat(starts[:, 0], lengths) + offsets,
                               np.repeat(starts[:, 1], lengths) + offsets])
        counts = np.bincount(used[param[used]], minlength=p.num_slots)
        return bool(counts.max(initial=0) <= 1)

    def lookahead(self, which: tuple[int, ...], marks: tuple[int, ...]
                  ) -> tuple[np.ndarray, int]:
        """Which long runs the fused epoch multiplies with the next row ahead: those with a
        parameter on one side and, on the other, the batched argument that has the most such
        runs (one row read ahead per example). Returns, per run, the column it starts at in
        that argument (else -1), and the argument's position among the batched ones."""
        p = self.program
        look = np.full(len(p.runs), -1, dtype=np.int64)
        if len(p.runs) == 0 or not marks:
            return look, 0
        param = np.zeros(p.num_slots, dtype=bool)
        param[self.slots(which)] = True
        q = p.runs[:, 1]
        eligible = (p.runs[:, 2] >= tape.SHORT) & param[p.runs[:, 0]]
        counts = [int((eligible & (q >= p.offsets[j]) & (q < p.offsets[j + 1])).sum())
                  for j in marks]
        best = int(np.argmax(counts))
        j = marks[best]
        chosen = eligible & (q >= p.offsets[j]) & (q < p.offsets[j + 1])
        look[chosen] = q[chosen] - p.offsets[j]
        return look, best

    def seed(self, t: Any, which: tuple[int, ...], wrt: Wrt, name: str) -> np.ndarray:
        parts = t if isinstance(wrt, tuple) else (t,)
        if not isinstance(parts, (tuple, list)) or len(parts) != len(which):
            raise ValueError(f"{name}: give one array per argument in wrt={wrt!r}")
        dv = np.zeros(self.program.num_slots)
        for j, part in zip(which, parts):
            o = self.program.offsets
            dv[o[j]:o[j + 1]] = check_array(part, f"{name} for argument {j}", self.sizes[j])
        return dv

    def split(self, g: np.ndarray, which: tuple[int, ...], wrt: Wrt) -> Any:
        o = self.program.offsets
        parts = tuple(g[o[j]:o[j + 1]].copy() for j in which)
        return parts if isinstance(wrt, tuple) else parts[0]

    def outputs_of(self, v: np.ndarray) -> Any:
        out = v[self.program.outputs]
        return out.copy() if self.vector else float(out[0])


# -- argument checks (no kernel sees unchecked input) ----------------------------------------


def check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    if not sizes:
        raise ValueError("compile(fn, *sizes): give the size of each argument, e.g. "
                         "compile(f, 1) for f(x) with one scalar in x")
    for j, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"sizes[{j}] = {s!r}: each size must be a positive int")
    return tuple(int(s) for s in sizes)


def as_float_array(a: Any, label: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{label}: expected real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
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
