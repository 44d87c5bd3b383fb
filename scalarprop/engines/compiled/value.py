"""The eager scalar node (lecture part 2, slides 20-30), in the spirit of micrograd.

Every operation computes its output now and remembers its inputs with their local
derivatives ``∂y/∂x``. ``backward()`` walks the graph from the output down, in reverse
topological order, and applies the chain rule of slide 30, summed over every path::

    x̄ += ȳ · ∂y/∂x        for every edge x → y

    x = Value(-4.499)
    f = 2 / (-x).exp().sin()
    f.backward()
    x.grad                # ∂f/∂x = -2/c² · cos b · e^a · -1
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any


class Value:
    """One scalar of the computation graph: ``data``, ``grad`` and where it came from."""

    __slots__ = ("data", "grad", "parents", "op")

    def __init__(self, data: float, parents: tuple = (), op: str = "") -> None:
        self.data = real_number(data, parents, op)
        self.grad = 0.0
        self.parents = parents      # ((x, ∂self/∂x), ...)
        self.op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # -- the operations: each output with its local derivatives ---------------------------

    def __add__(self, other: Value | float) -> Value:
        other = as_value(other)
        return Value(self.data + other.data, ((self, 1.0), (other, 1.0)), "+")

    def __mul__(self, other: Value | float) -> Value:
        other = as_value(other)
        return Value(self.data * other.data, ((self, other.data), (other, self.data)), "*")

    def __pow__(self, p: float) -> Value:
        if isinstance(p, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a constant")
        x = self.data
        y = compute(f"{x!r} ** {p!r}", lambda: x ** p)
        if isinstance(y, complex):
            raise ValueError(f"{x!r} ** {p!r}: a negative number to a fractional power is not "
                             "a real number")
        dy = compute(f"the derivative of x ** {p!r} at x = {x!r}", lambda: p * x ** (p - 1))
        return Value(y, ((self, dy),), f"**{p}")

    def __truediv__(self, other: Value | float) -> Value:
        other = as_value(other)
        y = compute(f"{self.data!r} / {other.data!r}", lambda: self.data / other.data)
        return Value(y, ((self, 1.0 / other.data), (other, -y / other.data)), "/")

    def __neg__(self) -> Value:
        return Value(-self.data, ((self, -1.0),), "neg")

    def __sub__(self, other: Value | float) -> Value:
        other = as_value(other)
        return Value(self.data - other.data, ((self, 1.0), (other, -1.0)), "-")

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return as_value(other) - self

    def __rtruediv__(self, other: float) -> Value:
        return as_value(other) / self

    def exp(self) -> Value:
        y = compute(f"exp({self.data!r})", lambda: math.exp(self.data))
        return Value(y, ((self, y),), "exp")

    def log(self) -> Value:
        y = compute(f"log({self.data!r})", lambda: math.log(self.data))
        return Value(y, ((self, 1.0 / self.data),), "log")

    def sin(self) -> Value:
        return Value(math.sin(self.data), ((self, math.cos(self.data)),), "sin")

    def cos(self) -> Value:
        return Value(math.cos(self.data), ((self, -math.sin(self.data)),), "cos")

    def tanh(self) -> Value:
        y = math.tanh(self.data)
        return Value(y, ((self, 1.0 - y * y),), "tanh")

    def sigmoid(self) -> Value:
        e = math.exp(-abs(self.data))       # never overflows, for either sign of k
        y = 1.0 / (1.0 + e) if self.data >= 0 else e / (1.0 + e)
        return Value(y, ((self, y * (1.0 - y)),), "sigmoid")

    def relu(self) -> Value:
        return Value(max(self.data, 0.0), ((self, 1.0 if self.data > 0 else 0.0),), "relu")

    def abs(self) -> Value:
        s = 1.0 if self.data > 0 else (-1.0 if self.data < 0 else 0.0)
        return Value(abs(self.data), ((self, s),), "abs")

    def __abs__(self) -> Value:
        return self.abs()

    def __pos__(self) -> Value:
        return self

    # comparisons give plain booleans here; a traced Value refuses to branch (see trace.py)
    def __gt__(self, other: Value | float) -> bool:
        return self.data > as_value(other).data

    def __lt__(self, other: Value | float) -> bool:
        return self.data < as_value(other).data

    def __ge__(self, other: Value | float) -> bool:
        return self.data >= as_value(other).data

    def __le__(self, other: Value | float) -> bool:
        return self.data <= as_value(other).data

    # -- the backward walk ----------------------------------------------------------------

    def backward(self) -> None:
        """Slide 30: every node's ``grad`` = ∂self/∂node, summed over all paths. The graph's
        old gradients are reset first, so calling it twice gives the same numbers."""
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:            # an iterative depth-first sort: deep graphs do not recurse
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((p, False) for p, _ in v.parents)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for y in reversed(order):
            for x, dy_dx in y.parents:
                x.grad += y.grad * dy_dx


def real_number(data: Any, parents: tuple, op: str) -> float:
    """``data`` as a float, if it is a real, finite number; else a ValueError that says which
    input, or which operation on which numbers, gave it."""
    if not isinstance(data, numbers.Real):
        raise ValueError(f"Value({data!r}): expected a real number, got {type(data).__name__}")
    x = float(data)
    if not math.isfinite(x):
        if parents:
            inputs = ", ".join(repr(p.data) for p, _ in parents)
            raise ValueError(f"{op} of {inputs} gives {x}: the result is not a finite number")
        raise ValueError(f"Value({data!r}): not a finite number")
    return x


def compute(what: str, f: Callable[[], Any]) -> Any:
    """``f()``, with Python's arithmetic errors (1/0, log of a negative number, exp
    overflowing) as one ValueError that names the operation and its numbers."""
    try:
        return f()
    except (ArithmeticError, ValueError) as exc:
        raise ValueError(f"{what}: {exc}") from None


def as_value(x: Value | float) -> Value:
    """A Python number as a constant leaf."""
    return x if isinstance(x, Value) else Value(x)
