"""The program as readable code: the forward walk, then the backward walk from the output
down, one line per local derivative, the lecture's ``x̄ += ȳ · ∂y/∂x`` (slide 30).

Names follow the lecture: for the function of slide 36 the steps are ``a, b, c, d``; in a
network a DOT is a pre-activation ``k[j]``, an activation of one is ``h[j]``, anything else
``u[j]``. A gradient is the name with ``_grad``: ``k_grad[j]`` is the lecture's ``k'[j]``.
The code runs as written (plain Python with numpy, or Numba: the codegen back end compiles
it), which is how the tests hold it to the tape.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .program import Program

PRELUDE = '''\
import math

import numpy as np


def sigmoid(k):
    e = math.exp(-abs(k))
    return 1.0 / (1.0 + e) if k >= 0.0 else e / (1.0 + e)


def sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


exp, log, sin, cos, tanh = math.exp, math.log, math.sin, math.cos, math.tanh
dot = np.dot
'''

CALLS = {ops.EXP: "exp", ops.LOG: "log", ops.SIN: "sin", ops.COS: "cos", ops.TANH: "tanh",
         ops.SIGMOID: "sigmoid", ops.ABS: "abs"}
ACTIVATIONS = (ops.SIGMOID, ops.TANH, ops.RELU)


class Names:
    """A name for every slot, and for its gradient."""

    def __init__(self, p: Program, arg_names: list[str]) -> None:
        self.p = p
        self.array: list[str] = [""] * p.num_slots     # '' for a plain scalar name
        self.index = np.zeros(p.num_slots, dtype=np.int64)
        self.scalar: list[str] = [""] * p.num_slots
        for j, name in enumerate(arg_names):
            for s in range(p.offsets[j], p.offsets[j + 1]):
                self.array[s], self.index[s] = name, s - p.offsets[j]
        work = range(p.first, p.num_slots)
        letters = [c for c in "abcdefghijklmnopqrsvwyz" if c not in arg_names]
        if p.num_ops <= len(letters) and not (p.op[p.first:] == ops.DOT).any():
            for s, c in zip(work, letters):
                self.scalar[s] = c
            self.counts: dict[str, int] = {}
            return
        taken = set(arg_names)
        kn, hn, un = (self.fresh(base, taken) for base in ("k", "h", "u"))
        self.counts = {kn: 0, hn: 0, un: 0}
        for s in work:
            op = p.op[s]
            if op == ops.DOT:
                base = kn
            elif op in ACTIVATIONS and p.op[p.args[s][0]] == ops.DOT:
                base = hn
            else:
                base = un
            self.array[s], self.index[s] = base, self.counts[base]
            self.counts[base] += 1

    @staticmethod
    def fresh(base: str, taken: set[str]) -> str:
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    def value(self, s: int) -> str:
        if self.p.op[s] == ops.CONST:
            return repr(float(self.p.const[s]))
        if self.scalar[s]:
            return self.scalar[s]
        return f"{self.array[s]}[{self.index[s]}]"

    def grad(self, s: int) -> str:
        if self.scalar[s]:
            return f"{self.scalar[s]}_grad"
        return f"{self.array[s]}_grad[{self.index[s]}]"

    def slice(self, s: int, n: int, grad: bool = False) -> str | None:
        """``name[i:i+n]`` if slots s..s+n-1 are consecutive elements of one array."""
        name = self.array[s]
        if not name or any(self.array[s + m] != name or self.index[s + m] != self.index[s] + m
                           for m in range(n)):
            return None
        i = self.index[s]
        return f"{name}{'_grad' if grad else ''}[{i}:{i + n}]"


def forward_lines(p: Program, nm: Names) -> list[str]:
    lines = [f"{a} = np.empty({n})" for a, n in nm.counts.items() if n]
    for s in range(p.first, p.num_slots):
        op, args = p.op[s], p.args[s]
        x = [nm.value(a) for a in args]
        if op == ops.DOT:
            rhs = " + ".join(dot_terms(p, nm, s))
        elif op in ops.BINARY:
            rhs = f"{x[0]} {ops.NAMES[op]} {x[1]}"
            if op in (ops.GT, ops.GE):
                rhs = f"1.0 if {rhs} else 0.0"
        elif op == ops.WHERE:
            rhs = f"{x[1]} if {x[0]} != 0.0 else {x[2]}"
        elif op == ops.NEG:
            rhs = f"-{x[0]}"
        elif op == ops.POW:
            rhs = f"{x[0]} ** {float(p.const[s])!r}"
        elif op == ops.RELU:
            rhs = f"max({x[0]}, 0.0)"
        else:
            rhs = f"{CALLS[op]}({x[0]})"
        lines.append(f"{nm.value(s)} = {rhs}")
    return lines


def runs_of(p: Program, s: int) -> list[tuple[int, int, int]]:
    """A DOT's pairs, re-joined into runs of consecutive slots."""
    a = p.args[s]
    runs: list[tuple[int, int, int]] = []
    for m in range(0, len(a), 2):
        if runs and a[m] == runs[-1][0] + runs[-1][2] and a[m + 1] == runs[-1][1] + runs[-1][2]:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((a[m], a[m + 1], 1))
    return runs


def is_one(p: Program, s: int) -> bool:
    return bool(p.op[s] == ops.CONST and p.const[s] == 1.0)


def dot_terms(p: Program, nm: Names, s: int) -> list[str]:
    terms = []
    for a, b, n in runs_of(p, s):
        sa, sb = nm.slice(a, n), nm.slice(b, n)
        if n > 1 and sa and sb:
            terms.append(f"dot({sa}, {sb})")
            continue
        for m in range(n):
            terms.append(nm.value(a + m) if is_one(p, b + m)
                         else f"{nm.value(a + m)} * {nm.value(b + m)}")
    return terms


def backward_lines(p: Program, nm: Names, need: np.ndarray) -> list[str]:
    """From the output down: every operand's gradient += the output's gradient times the
    local derivative. The first write to an intermediate is ``=`` (slide 55), later ``+=``."""
    written = np.zeros(p.num_slots, dtype=bool)
    written[:p.first] = True            # input gradients start at zero
    lines = [f"{a}_grad = np.zeros({n})" for a, n in nm.counts.items() if n]
    out = int(p.outputs[0])
    lines.append(f"{nm.grad(out)} = 1.0")
    written[out] = True

    def put(target: int, expr: str, sign: str = "+") -> None:
        if p.op[target] == ops.CONST or not need[target]:
            return
        if written[target]:
            lines.append(f"{nm.grad(target)} {sign}= {expr}")
        else:
            lines.append(f"{nm.grad(target)} = {'-' if sign == '-' else ''}{expr}")
            written[target] = True

    for s in range(p.num_slots - 1, p.first - 1, -1):
        if not (need[s] and written[s]):
            continue        # an unwritten gradient is zero: nothing to pass down
        op, args = p.op[s], p.args[s]
        gy = nm.grad(s)
        x = [nm.value(a) for a in args]
        if op == ops.DOT:
            dot_backward(p, nm, s, need, lines, put, written)
        elif op == ops.ADD:
            put(args[0], gy)
            put(args[1], gy)
        elif op == ops.SUB:
            put(args[0], gy)
            put(args[1], gy, "-")
        elif op == ops.MUL:
            put(args[0], f"{gy} * {x[1]}")
            put(args[1], f"{gy} * {x[0]}")
        elif op == ops.DIV:
            put(args[0], f"{gy} / {x[1]}")
            put(args[1], f"{gy} * {nm.value(s)} / {x[1]}", "-")
        elif op == ops.WHERE:
            put(args[1], f"({gy} if {x[0]} != 0.0 else 0.0)")
            put(args[2], f"(0.0 if {x[0]} != 0.0 else {gy})")
        elif op in (ops.GT, ops.GE):
            continue
        elif op == ops.NEG:
            put(args[0], gy, "-")
        elif op == ops.LOG:
            put(args[0], f"{gy} / {x[0]}")
        else:
            local = local_derivative(op, x[0], nm.value(s), float(p.const[s]))
            put(args[0], f"{gy} * {local}")
    return lines


def local_derivative(op: int, x: str, y: str, c: float) -> str:
    """∂y/∂x as code; ``x ** c`` gives ``c * x ** (c - 1)`` with the exponent worked out."""
    if op == ops.POW:
        return f"{c!r} * {x}" if c == 2.0 else f"{c!r} * {x} ** {c - 1.0!r}"
    return ops.LOCAL[op].format(x=x, y=y)


def dot_backward(p: Program, nm: Names, s: int, need: np.ndarray, lines: list[str],
                 put: object, written: np.ndarray) -> None:
    gy = nm.grad(s)
    for a, b, n in runs_of(p, s):
        for x, other in ((a, b), (b, a)):
            if p.op[x] == ops.CONST or not need[x:x + n].any():
                continue
            gx, ov = nm.slice(x, n, grad=True), nm.slice(other, n)
            if n > 1 and gx and ov:
                lines.append(f"{gx} += {gy} * {ov}")
                written[x:x + n] = True
                continue
            for m in range(n):
                put(x + m, gy if is_one(p, other + m) else f"{gy} * {nm.value(other + m)}")


def render(p: Program, arg_names: list[str], name: str, need: np.ndarray) -> str:
    """``def {name}_grad(args)``: the forward walk, then the backward walk; returns the
    value and the gradient of every argument."""
    nm = Names(p, arg_names)
    name = name if name.isidentifier() else "f"
    out = nm.value(int(p.outputs[0]))
    sig = ", ".join(arg_names)
    body = ["# forward (slide 37)", *forward_lines(p, nm),
            "# backward, from the output down (slide 30): x̄ += ȳ · ∂y/∂x",
            *(f"{a}_grad = np.zeros({n})" for a, n in zip(arg_names, p.sizes)),
            *backward_lines(p, nm, need),
            f"return {out}, {', '.join(f'{a}_grad' for a in arg_names)}"]
    return f"def {name}_grad({sig}):\n" + "".join(f"    {line}\n" for line in body)


def render_forward(p: Program, arg_names: list[str], name: str) -> str:
    """``def {name}(args)``: the forward walk alone; returns the value."""
    nm = Names(p, arg_names)
    name = name if name.isidentifier() else "f"
    body = [*forward_lines(p, nm), f"return {nm.value(int(p.outputs[0]))}"]
    return f"def {name}({', '.join(arg_names)}):\n" + "".join(f"    {ln}\n" for ln in body)
