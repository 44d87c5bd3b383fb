"""Tracing (lecture part 4, lazy execution): run the user's function once on placeholder
scalars and record every operation into a graph, instead of computing it.

Python control flow runs at trace time: a loop unrolls into as many operations as it has
iterations. A branch on a traced value cannot be recorded (the graph would hold one side
only), so ``if v > 0``, ``float(v)`` and ``int(v)`` raise :class:`TracingError`, naming the
user's line and suggesting ``relu``, ``abs`` or :func:`where`.

While the graph is built, three simplifications happen on the fly:

- constant folding: an operation on constants is a constant (``2 * 3`` → ``6``);
- identities: ``x + 0``, ``x - 0``, ``x * 1``, ``x / 1`` and ``x ** 1`` are ``x``;
- common-subexpression elimination: the same operation on the same operands is one node.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .value import Value

_HERE = os.path.dirname(os.path.abspath(__file__))


class TracingError(ValueError):
    """The traced function did something a graph of scalar operations cannot record."""


def user_line() -> str:
    """``file:line: code`` of the innermost frame outside this package (the user's line)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) \
            == _HERE:
        frame = frame.f_back
    if frame is None:
        return "<unknown line>"
    import linecache

    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


class Graph:
    """The recorded operations, in the order they were made (a topological order).

    Node ``n`` is ``op[n]`` applied to the nodes ``args[n]`` (for DOT: ``p₀, q₀, p₁, q₁, ...``,
    the sum of ``pₘ · qₘ``); ``const[n]`` is a CONST's value, POW's exponent or an INPUT's
    position among all inputs.
    """

    def __init__(self) -> None:
        self.op: list[int] = []
        self.args: list[tuple[int, ...]] = []
        self.const: list[float] = []
        self.known: dict[tuple, int] = {}

    def __len__(self) -> int:
        return len(self.op)

    def constant(self, value: float) -> int:
        value = float(value)
        # 0.0 == -0.0 as keys: the sign goes into the key so that -0.0 stays -0.0
        return self._record(ops.CONST, (), value, (value, math.copysign(1.0, value)))

    def input(self, position: int) -> int:
        return self._record(ops.INPUT, (), float(position), position)

    def add(self, op: int, args: tuple[int, ...], c: float = 0.0) -> int:
        """Record ``op(args)``, folded, simplified and shared where it can be."""
        kinds = self.op
        constants = 0
        for a in args:
            if kinds[a] == ops.CONST:
                constants += 1
        if constants and constants == len(args):
            try:
                return self.constant(ops.evaluate(op, tuple(self.const[a] for a in args), c))
            except (ArithmeticError, ValueError):
                pass        # 1/0, log 0: the kernel gives inf or NaN as IEEE says
        if constants or op == ops.POW:
            same = self._identity(op, args, c)
            if same is not None:
                return same
        key_args = (min(args), max(args)) if op in ops.COMMUTATIVE else args
        return self._record(op, args, c, (key_args, c))

    def _identity(self, op: int, args: tuple[int, ...], c: float) -> int | None:
        def is_const(a: int, value: float) -> bool:
            return self.op[a] == ops.CONST and self.const[a] == value

        if op == ops.ADD and is_const(args[0], 0.0):
            return args[1]
        if op in (ops.ADD, ops.SUB) and is_const(args[1], 0.0):
            return args[0]
        if op == ops.MUL and is_const(args[0], 1.0):
            return args[1]
        if op in (ops.MUL, ops.DIV) and is_const(args[1], 1.0):
            return args[0]
        if op == ops.POW and c == 1.0:
            return args[0]
        if op == ops.WHERE and self.op[args[0]] == ops.CONST:
            return args[1] if self.const[args[0]] != 0.0 else args[2]
        return None

    def _record(self, op: int, args: tuple[int, ...], c: float, key: Any) -> int:
        full = (op, key)
        found = self.known.get(full)
        if found is not None:
            return found
        self.op.append(op)
        self.args.append(args)
        self.const.append(c)
        self.known[full] = len(self.op) - 1
        return len(self.op) - 1


NO_OPERAND = object()       # marks a unary operation (None could be a user's mistake)


class Traced:
    """A placeholder scalar while tracing: the same operations as :class:`Value`, recorded."""

    __slots__ = ("graph", "id")

    def __init__(self, graph: Graph, node: int) -> None:
        self.graph = graph
        self.id = node

    def __repr__(self) -> str:
        return f"Traced({ops.NAMES[self.graph.op[self.id]]}, node={self.id})"

    def _make(self, op: int, other: Any = NO_OPERAND, c: float = 0.0) -> Traced:
        if other is NO_OPERAND:
            args: tuple[int, ...] = (self.id,)
        elif type(other) is Traced and other.graph is self.graph:
            args = (self.id, other.id)
        else:
            args = (self.id, self._node(other))
        return Traced(self.graph, self.graph.add(op, args, c))

    def _node(self, x: Any) -> int:
        if isinstance(x, Traced):
            if x.graph is not self.graph:
                raise TracingError(f"{user_line()}\n  a value traced by another compile() "
                                   "call was mixed into this one")
            return x.id
        if isinstance(x, Value):
            raise TracingError(f"{user_line()}\n  an eager Value was mixed into a traced "
                               "function; pass its .data (a constant) or make it an input")
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TracingError(f"{user_line()}\n  cannot combine a traced value with "
                               f"{type(x).__name__} {x!r}: only numbers and traced values")
        if not math.isfinite(x):
            raise TracingError(f"{user_line()}\n  a constant {x!r} is not a finite number")
        return self.graph.constant(x)

    def _rmake(self, op: int, other: Any) -> Traced:
        return Traced(self.graph, self.graph.add(op, (self._node(other), self.id)))

    def __add__(self, o: Any) -> Traced:
        return self._make(ops.ADD, o)

    def __radd__(self, o: Any) -> Traced:
        return self._rmake(ops.ADD, o)

    def __sub__(self, o: Any) -> Traced:
        return self._make(ops.SUB, o)

    def __rsub__(self, o: Any) -> Traced:
        return self._rmake(ops.SUB, o)

    def __mul__(self, o: Any) -> Traced:
        return self._make(ops.MUL, o)

    def __rmul__(self, o: Any) -> Traced:
        return self._rmake(ops.MUL, o)

    def __truediv__(self, o: Any) -> Traced:
        return self._make(ops.DIV, o)

    def __rtruediv__(self, o: Any) -> Traced:
        return self._rmake(ops.DIV, o)

    def __neg__(self) -> Traced:
        return self._make(ops.NEG)

    def __pow__(self, p: Any) -> Traced:
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TracingError(f"{user_line()}\n  the exponent must be a constant number, "
                               f"got {type(p).__name__}")
        return self._make(ops.POW, c=float(p))

    def exp(self) -> Traced:
        return self._make(ops.EXP)

    def log(self) -> Traced:
        return self._make(ops.LOG)

    def sin(self) -> Traced:
        return self._make(ops.SIN)

    def cos(self) -> Traced:
        return self._make(ops.COS)

    def tanh(self) -> Traced:
        return self._make(ops.TANH)

    def sigmoid(self) -> Traced:
        return self._make(ops.SIGMOID)

    def relu(self) -> Traced:
        return self._make(ops.RELU)

    def abs(self) -> Traced:
        return self._make(ops.ABS)

    def __abs__(self) -> Traced:
        return self.abs()

    def __pos__(self) -> Traced:
        return self

    # comparisons are recorded (1.0 or 0.0) for where(); branching on them is refused
    def __gt__(self, o: Any) -> Traced:
        return self._make(ops.GT, o)

    def __ge__(self, o: Any) -> Traced:
        return self._make(ops.GE, o)

    def __lt__(self, o: Any) -> Traced:
        return self._rmake(ops.GT, o)

    def __le__(self, o: Any) -> Traced:
        return self._rmake(ops.GE, o)

    def __bool__(self) -> bool:
        raise TracingError(
            f"{user_line()}\n  a branch on a traced value: the graph is recorded once, for "
            "every input, so it cannot take one side of an `if`. Write it without the branch: "
            "x.relu() for max(x, 0), x.abs() for |x|, sp.where(cond, a, b) to choose.")

    def __float__(self) -> float:
        raise TracingError(
            f"{user_line()}\n  float() of a traced value: it has no number while tracing. "
            "Keep computing with the value (x.relu(), x.abs(), sp.where(cond, a, b)).")

    __int__ = __index__ = __float__     # type: ignore[assignment]


def dot(a: Sequence[Any], b: Sequence[Any]) -> Any:
    """``Σₘ aₘ bₘ``: one DOT operation when traced (an MLP unit is one op, not one per weight),
    the plain sum of products for eager Values and numbers."""
    if len(a) != len(b):
        raise ValueError(f"dot: the lengths differ, {len(a)} and {len(b)}")
    if len(a) == 0:
        raise ValueError("dot: empty sequences")
    traced = next((x for x in (*a, *b) if isinstance(x, Traced)), None)
    if traced is None:
        total = a[0] * b[0]
        for x, y in zip(a[1:], b[1:]):
            total = total + x * y
        return total
    args: list[int] = []
    for x, y in zip(a, b):
        args += [traced._node(x), traced._node(y)]
    return Traced(traced.graph, traced.graph.add(ops.DOT, tuple(args)))


def where(cond: Any, a: Any, b: Any) -> Any:
    """``a`` where ``cond`` holds (is nonzero), else ``b``; the gradient flows to the chosen
    one. ``cond`` is typically a comparison, ``sp.where(x > 0, x, 0.1 * x)``."""
    traced = next((x for x in (cond, a, b) if isinstance(x, Traced)), None)
    if traced is None:
        chosen = cond.data != 0.0 if isinstance(cond, Value) else bool(cond)
        return a if chosen else b
    args = (traced._node(cond), traced._node(a), traced._node(b))
    return Traced(traced.graph, traced.graph.add(ops.WHERE, args))


def trace(fn: Callable[..., Any], sizes: Sequence[int]) -> tuple[Graph, list[int], bool]:
    """Run ``fn`` on one list of placeholders per size. Returns the graph, the output nodes
    and whether ``fn`` returned a list (a vector output)."""
    graph = Graph()
    placeholders: list[list[Traced]] = []
    position = 0
    for size in sizes:
        placeholders.append([Traced(graph, graph.input(position + i)) for i in range(size)])
        position += size
    try:
        result = fn(*placeholders)
    except IndexError as exc:
        raise TracingError(f"{getattr(fn, '__name__', fn)} read past the end of an argument "
                           f"while tracing ({exc}); the sizes given are {tuple(sizes)}, one "
                           "list of that many inputs per argument") from None
    vector = isinstance(result, (list, tuple))
    items = list(result) if vector else [result]
    if not items:
        raise TracingError(f"{getattr(fn, '__name__', fn)} returned an empty list")
    outputs = []
    for n, item in enumerate(items):
        if isinstance(item, Traced):
            if item.graph is not graph:
                raise TracingError(f"output {n} was traced by another compile() call")
            outputs.append(item.id)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            outputs.append(graph.constant(item))
        else:
            raise TracingError(
                f"{getattr(fn, '__name__', fn)} returned {type(item).__name__} as output {n}; "
                "expected the traced Value (or a list of them) computed from the inputs")
    return graph, outputs, vector
