"""A compiled SGD epoch (slide 18): ``θ ← θ − lr · ∇θ`` after every ``batch_size`` rows, with
the parameters updated in place, in one compiled call.

Per example, when every parameter is used once as one side of a DOT (an MLP's weights and
biases, :func:`direct_update`), the epoch takes the fused kernels of :mod:`fused` (the update
inside the backward walk), and :mod:`blocked` where many weights multiply the data (the
first layer's work as matrix products); otherwise the readable :func:`batch.sgd_epoch`, or
where every run is short (a small network) its inlined form :func:`small.sgd_epoch`, per
example with the updates in the backward walk (:func:`small.sgd_epoch_direct`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import batch, blocked, fused, ops, segments, small, tape
from .arguments import check_order
from .program import Program


def sgd_epoch(cf: Any, args: Sequence[Any], lr: float, wrt: Any, batched: Sequence[int],
              batch_size: int, order: Any) -> np.ndarray:
    """:meth:`CompiledFunction.sgd_epoch` (``cf``: the compiled function)."""
    cf.require_scalar("sgd_epoch")
    marks = cf.check_batched(batched)
    if not marks:
        raise ValueError("sgd_epoch: batched= must name the arguments that hold the rows")
    arrays = cf.check_args(args, marks)
    which = cf.check_wrt(wrt, marks)
    for j in which:
        a = args[j]
        if not (isinstance(a, np.ndarray) and a.dtype == np.float64
                and a.flags.c_contiguous and a.flags.writeable):
            raise ValueError(f"sgd_epoch: argument {j} ({cf.arg_names[j]}) is updated "
                             "in place, so it must be a writable C-contiguous float64 "
                             "numpy array")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"sgd_epoch: lr must be a positive number, got {lr!r}")
    v, B, cols = cf.batch_slots(arrays, marks)
    n = B[0].shape[0]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"sgd_epoch: batch_size must be a positive int, got {batch_size!r}")
    rows = check_order(order, n)
    step_loss = np.zeros((len(rows) + batch_size - 1) // batch_size)
    p = cf.program
    g = np.zeros(p.num_slots)
    need, out, wrt_slots = cf.need(which), int(p.outputs[0]), cf.slots(which)
    failed = -2
    start = v[wrt_slots]                # the parameters before the epoch (a copy)
    plan = fused_plan(cf, which, marks)
    if batch_size == 1 and plan is not None:
        look, ahead_arg = plan
        extended, runs_ahead, ahead = fused.scratch(v, p.runs, look)
        v = extended[:p.num_slots]
        epoch = blocked.sgd_epoch if blocked.weights_read_ahead(p.runs, look) >= \
            blocked.BLOCKED_MIN_WEIGHTS else fused.sgd_epoch_direct
        failed = epoch(p.ins, p.cst, p.runs, runs_ahead, p.first, extended, g, need, out, B,
                       cols, wrt_slots, rows, float(lr), step_loss, look, ahead_arg, ahead,
                       *walk_segments(cf, which, marks, look))
        if failed != -1:        # something overflowed: replay, stopping before it
            v[wrt_slots] = start
            failed = -2
    # a small graph's epoch (no long run) takes small.py's walks, inlined
    short = len(p.runs) == 0 or int(p.runs[:, 2].max()) < tape.SHORT
    if batch_size == 1 and short and direct_plan(cf, which):
        failed = small.sgd_epoch_direct(p.ins, p.cst, p.runs, p.first, v, g, need, out, B,
                                        cols, wrt_slots, rows, float(lr), step_loss)
        if failed != -1:        # something overflowed: replay, stopping before it
            v[wrt_slots] = start
            failed = -2
    if failed == -2:
        epoch = small.sgd_epoch if short else batch.sgd_epoch
        failed = epoch(p.ins, p.cst, p.runs, p.first, v, g, need, out, B, cols, wrt_slots,
                       rows, int(batch_size), float(lr), step_loss)
    if not np.isfinite(v[wrt_slots]).all():
        # an update overflowed (the kernels check losses and gradients, not what lr times
        # a gradient makes): the steps again, one call each, stopping before that one
        v[wrt_slots] = start
        failed = -1
        for s in range(len(step_loss)):
            before = v[wrt_slots]
            failed = batch.sgd_epoch(p.ins, p.cst, p.runs, p.first, v, g, need, out, B, cols,
                                     wrt_slots, rows[s * batch_size:(s + 1) * batch_size],
                                     int(batch_size), float(lr), step_loss[s:s + 1])
            if failed >= 0 or not np.isfinite(v[wrt_slots]).all():
                v[wrt_slots] = before
                failed = s
                break
    for j in which:
        args[j][...] = v[p.offsets[j]:p.offsets[j + 1]]
    if failed >= 0:
        raise ValueError(f"sgd_epoch: step {failed}: the loss or gradient is not finite, or "
                         "the update makes a parameter NaN or inf; the parameters hold their "
                         "values from before that step")
    return step_loss


def fused_plan(cf: Any, which: tuple[int, ...], marks: tuple[int, ...]
               ) -> tuple[np.ndarray, int] | None:
    """:func:`lookahead`'s answer where per-example SGD can take the fused kernels (the
    parameters ``which`` updated in the backward walk, some runs long), else None. Worked
    out once per ``(which, marks)``: on a 784-128-10 network it costs 2 ms."""
    key = (which, marks)
    if key not in cf.plans:
        p, wrt_slots = cf.program, cf.slots(which)
        # the fused epoch pays off where rows are long (on a 2-3-1 network it is slower)
        long_runs = len(p.runs) > 0 and int(p.runs[:, 2].max()) >= tape.SHORT
        cf.plans[key] = lookahead(p, wrt_slots, marks) \
            if long_runs and direct_update(p, wrt_slots) else None
    return cf.plans[key]


def walk_segments(cf: Any, which: tuple[int, ...], marks: tuple[int, ...], look: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The update walk's segments (:func:`segments.segments`) and actions
    (:func:`fused.actions`) for the parameters ``which`` (worked out once)."""
    key = ("segments", which, marks)
    if key not in cf.plans:
        p, need = cf.program, cf.need(which)
        act = fused.actions(p.runs, p.first, need, look)
        cf.plans[key] = segments.segments(p.ins, p.cst, p.first, need, p.runs, act), act
    return cf.plans[key]


def direct_plan(cf: Any, which: tuple[int, ...]) -> bool:
    """:func:`direct_update` for the parameters ``which`` (worked out once)."""
    key = ("direct", which)
    if key not in cf.plans:
        cf.plans[key] = direct_update(cf.program, cf.slots(which))
    return cf.plans[key]


def direct_update(p: Program, wrt_slots: np.ndarray) -> bool:
    """Can per-example SGD update the parameters inside the backward walk? Yes when each
    is used at most once, as one side of a DOT whose other side is not a parameter: its
    old value is then needed by nobody after its own gradient is known."""
    param = np.zeros(p.num_slots, dtype=bool)
    param[wrt_slots] = True
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


def lookahead(p: Program, wrt_slots: np.ndarray, marks: tuple[int, ...]
              ) -> tuple[np.ndarray, int]:
    """Which long runs the fused epoch multiplies with the next row ahead: those with a
    parameter on one side and, on the other, the batched argument that has the most such
    runs (one row read ahead per example). Returns, per run, the column it starts at in
    that argument (else -1), and the argument's position among the batched ones."""
    look = np.full(len(p.runs), -1, dtype=np.int64)
    if len(p.runs) == 0 or not marks:
        return look, 0
    param = np.zeros(p.num_slots, dtype=bool)
    param[wrt_slots] = True
    q = p.runs[:, 1]
    eligible = (p.runs[:, 2] >= tape.SHORT) & param[p.runs[:, 0]]
    counts = [int((eligible & (q >= p.offsets[j]) & (q < p.offsets[j + 1])).sum())
              for j in marks]
    best = int(np.argmax(counts))
    j = marks[best]
    chosen = eligible & (q >= p.offsets[j]) & (q < p.offsets[j + 1])
    look[chosen] = q[chosen] - p.offsets[j]
    return look, best
