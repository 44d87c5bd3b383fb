"""``compile(fn, *sizes)``: a traced function and the calls that run it on numbers.

Every call checks its arguments here, once, before any kernel runs (Numba does not check
bounds): the number of arguments, their sizes, dtypes and finiteness, ``wrt`` and
``batched``. The kernels then trust what they get.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from ...memory import aligned_empty
from . import batch, codegen, tape, training
from .arguments import (
    argument_names,
    as_indices,
    check_array,
    check_flag,
    check_function,
    check_rows,
    check_sizes,
)
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
        check_function(fn, self.sizes)
        graph, outputs, vector = trace(fn, self.sizes)
        self.traced_nodes = len(graph)
        self.program: Program = build(graph, outputs, self.sizes)
        self.vector = vector
        self.name = getattr(fn, "__name__", "f")
        self.arg_names = argument_names(fn, len(self.sizes))
        self._need: dict[tuple[int, ...], np.ndarray] = {}
        #: what the SGD epoch worked out about the program, per (wrt, batched)
        self.plans: dict[tuple[tuple[int, ...], tuple[int, ...]], Any] = {}
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
        per_row = check_flag(per_row, "per_row")
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
             per_row: bool = False, per_row_grads: bool = False,
             parallel: bool | None = None) -> tuple[Any, ...]:
        """``(value, ∂f/∂args[wrt])``; for a tuple ``wrt``, a tuple of gradients. With
        ``batched``, the value and gradient summed over the rows (the lecture's batch loss),
        in one compiled call; ``per_row=True`` adds each row's value, ``per_row_grads=True``
        each row's value and gradient (``(total, grads, rows, row_grads)``, ``row_grads`` of
        shape (N, size)). ``parallel``: chunks of rows on Numba's threads (``prange``); by
        default where the batch is large enough to pay for the threads."""
        self.require_scalar("grad (use vjp for a vector output)")
        per_row = check_flag(per_row, "per_row")
        marks = self.check_batched(batched)
        arrays = self.check_args(args, marks)
        which = self.check_wrt(wrt, marks)
        for name, flag in (("per_row", per_row), ("per_row_grads", per_row_grads)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name}={flag!r}: expected True or False")
        if parallel is not None and not isinstance(parallel, bool):
            raise ValueError(f"parallel={parallel!r}: expected True, False or None (auto)")
        if (per_row or per_row_grads or parallel is not None) and not marks:
            raise ValueError("per_row, per_row_grads and parallel are for a batched call: "
                             "name the arguments that hold rows in batched=")
        if marks:
            total, g, rows, row_grads = self.batch_grad(arrays, marks, which, per_row_grads,
                                                        parallel)
            grads = self.split(g, which, wrt)
            if per_row_grads:
                return float(total), grads, rows, self.split_rows(row_grads, which, wrt)
            return (float(total), grads, rows) if per_row else (float(total), grads)
        p = self.program
        need = self.need(which)
        g = np.zeros(p.num_slots)
        out = int(p.outputs[0])
        if self.backend == "codegen":
            value, *grads = self.generated().f_grad(*arrays)
            parts = tuple(grads[j] for j in which)       # f_grad makes them afresh
            return float(value), parts if isinstance(wrt, tuple) else parts[0]
        v = self.values(arrays)
        tape.forward(p.ins, p.cst, p.runs, p.first, v)
        g[out] = 1.0
        tape.backward(p.ins, p.cst, p.runs, p.first, v, g, need)
        return float(v[out]), self.split(g, which, wrt)

    def batch_grad(self, arrays: list[np.ndarray], marks: tuple[int, ...],
                   which: tuple[int, ...], per_row_grads: bool, parallel: bool | None
                   ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The batched gradient on checked arrays: the total, the gradient in slot layout,
        each row's value and (with ``per_row_grads``) each row's gradient of ``which``."""
        p = self.program
        v, B, cols = self.batch_slots(arrays, marks)
        n_rows = B[0].shape[0]
        wrt_slots, need, out = self.slots(which), self.need(which), int(p.outputs[0])
        rows = np.empty(n_rows)
        row_grads = np.empty((n_rows if per_row_grads else 0, len(wrt_slots)))
        chunks = min(numba.get_num_threads(), n_rows)
        if parallel is None:
            parallel = chunks > 1 and n_rows * p.num_ops >= batch.PARALLEL_MIN_WORK
        g = np.zeros(p.num_slots)
        if parallel:
            vs = np.tile(v, (chunks, 1))
            gs = np.zeros((chunks, p.num_slots))
            totals = np.empty(chunks)
            batch.grad_chunks(p.ins, p.cst, p.runs, p.first, vs, gs, need, out, B, cols,
                              wrt_slots, rows, row_grads, totals)
            g[wrt_slots] = gs[:, wrt_slots].sum(axis=0)
            total = float(totals.sum())
        else:
            total = batch.grad_rows(p.ins, p.cst, p.runs, p.first, v, g, need, out, B, cols,
                                    wrt_slots, 0, n_rows, rows, row_grads)
        if per_row_grads:       # each row's gradient went to row_grads: g holds the last's
            g[wrt_slots] = row_grads.sum(axis=0)
        return total, g, rows, row_grads

    def split_rows(self, row_grads: np.ndarray, which: tuple[int, ...], wrt: Wrt) -> Any:
        """Per-row gradients (N, Σ sizes) split by argument, as :meth:`split` does."""
        ends = np.cumsum([self.sizes[j] for j in which])
        parts = tuple(row_grads[:, e - self.sizes[j]:e] for j, e in zip(which, ends))
        return parts if isinstance(wrt, tuple) else parts[0]

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
        return training.sgd_epoch(self, args, lr, wrt, batched, batch_size, order)

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
        """Can per-example SGD update the parameters ``which`` inside the backward walk (see
        :func:`training.direct_update`)?"""
        return training.direct_update(self.program, self.slots(which))

    def lookahead(self, which: tuple[int, ...], marks: tuple[int, ...]
                  ) -> tuple[np.ndarray, int]:
        """The runs the fused epoch multiplies with the next row (:func:`training.lookahead`)."""
        return training.lookahead(self.program, self.slots(which), marks)

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
