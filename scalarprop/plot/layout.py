"""Where the units go: the columns of a drawn network (inputs, each layer's ``k`` and ``h``, the
output, the target), and which units a wide layer keeps.

A layer wider than ``max_units`` is drawn with a gap ("… 760 more") that keeps its strongest
units: those that move the next layer most, ``|a_i| · Σ_j |W[j,i]|`` for an input or hidden
unit with value ``a_i`` (``Σ_j |W[j,i]|`` without an example), and the largest ``|y_j|`` for an
output. Units the highlighted weight touches, and the target class, are always kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..network import MLP

#: a layer with more units than this is drawn with a gap
MAX_UNITS = 16
#: horizontal distance between columns joined by weights, and by an activation
WEIGHT_STEP, ACTIVATION_STEP = 1.6, 0.9


@dataclass
class Column:
    """One column of nodes: the inputs, one layer's k or h, the output, the target."""
    part: str               # "x", "k", "h", "t"
    layer: int              # 0 for inputs, l for layer l's units
    x: float                # horizontal position
    units: np.ndarray       # the unit indices drawn, in index order
    hidden: int             # how many are left out (the gap)
    y: dict[int, float] = field(default_factory=dict)   # unit index -> vertical position
    gap_y: float | None = None

    def key(self, i: int) -> str:
        """The node identifier of unit ``i`` (see :mod:`scalarprop.explain.names`)."""
        if self.part in ("x", "t"):
            return f"{self.part}[{i}]"
        return f"{self.part}{self.layer}[{i}]"


@dataclass
class Example:
    """The numbers of one forward and backward pass, by node identifier."""
    value: dict[str, float]
    grad: dict[str, float]
    param_grad: np.ndarray
    loss: float


def example(net: MLP, X: np.ndarray, T: np.ndarray, nodes: dict[str, Any]) -> Example:
    """Every node's value and ∂l/∂node from an engine's ``nodes(net, X, T)``."""
    value: dict[str, float] = {}
    grad: dict[str, float] = {}
    for i, xi in enumerate(X[0]):
        value[f"x[{i}]"] = float(xi)
    # ∂l/∂x: the inputs are not parameters, but the slides' "imagine it is a parameter"
    # (slide 48) reads the same; it is the step the backward pass would take for an h below
    x_grad = nodes["k1_grad"][0] @ net.weights(0)
    for i, g in enumerate(x_grad):
        grad[f"x[{i}]"] = float(g)
    for l in range(1, net.num_layers + 1):
        for part in ("k", "h"):
            for j, (v, g) in enumerate(zip(nodes[f"{part}{l}"][0], nodes[f"{part}{l}_grad"][0])):
                value[f"{part}{l}[{j}]"] = float(v)
                grad[f"{part}{l}[{j}]"] = float(g)
    value["loss"], grad["loss"] = float(nodes["loss"]), 1.0
    if net.loss == "ce":
        value["t[0]"] = float(T[0, 0])
    else:
        for j, tj in enumerate(T[0]):
            value[f"t[{j}]"] = float(tj)
    return Example(value, grad, np.asarray(nodes["grad"], dtype=float), float(nodes["loss"]))


def keep(strength: np.ndarray, force: set[int], max_units: int) -> np.ndarray:
    """The indices of the ``max_units`` strongest units (ties: lower index first), with the
    forced ones always among them, in index order."""
    n = strength.shape[0]
    if n <= max_units:
        return np.arange(n)
    order = np.argsort(-strength, kind="stable")
    chosen = [i for i in sorted(force) if 0 <= i < n][:max_units]
    taken = set(chosen)
    for i in order:
        if len(chosen) >= max_units:
            break
        if int(i) not in taken:
            chosen.append(int(i))
            taken.add(int(i))
    return np.array(sorted(chosen), dtype=int)


def strengths(net: MLP, ex: Example | None) -> list[np.ndarray]:
    """How strongly each unit of each layer (0 = inputs) drives the next layer."""
    out = []
    for u in range(net.num_layers + 1):
        n = net.sizes[u]
        key = "x[%d]" if u == 0 else f"h{u}[%d]"
        a = np.ones(n) if ex is None else np.abs([ex.value[key % i] for i in range(n)])
        if u < net.num_layers:
            out.append(a * np.abs(net.weights(u)).sum(axis=0))
        else:
            out.append(a if ex is not None else np.zeros(n))
    return out


def touched(net: MLP, index: int | None) -> dict[int, set[int]]:
    """Units a parameter touches: its source and target unit, by layer of units."""
    if index is None:
        return {}
    _, l, j, i = net.param_position(index)
    units = {l + 1: {j}}
    if i is not None:
        units[l] = {i}
    return units


def layout(net: MLP, ex: Example | None, index: int | None, max_units: int
           ) -> tuple[list[Column], int]:
    """The columns of nodes and their positions; returns them and the tallest column's slots."""
    strength = strengths(net, ex)
    force = touched(net, index)
    if ex is not None and net.loss == "ce":
        force.setdefault(net.num_layers, set()).add(int(ex.value["t[0]"]))
    kept = [keep(strength[u], force.get(u, set()), max_units) for u in range(len(strength))]
    cols: list[Column] = []
    xpos = 0.0

    def add(part: str, u: int, step: float) -> None:
        nonlocal xpos
        xpos += step
        cols.append(Column(part, u, xpos, kept[u], net.sizes[u] - kept[u].shape[0]))

    # a weight layer is wider than an activation: its edges carry numbers
    add("x", 0, 0.0)
    for l in range(1, net.num_layers + 1):
        if l < net.num_layers or net.output != "identity":
            add("k", l, WEIGHT_STEP)
            add("h", l, ACTIVATION_STEP)
        else:
            add("h", l, WEIGHT_STEP)
    # the target beside the output, the loss after it
    out = cols[-1]
    t_units = np.array([0]) if net.loss == "ce" else out.units
    cols.append(Column("t", net.num_layers, out.x + 0.5, t_units, 0))
    slots = max(c.units.shape[0] + (1 if c.hidden else 0) for c in cols)
    for c in cols:
        if c.part == "t":
            continue
        n = c.units.shape[0]
        s = n + (1 if c.hidden else 0)
        top = (s - 1) / 2.0
        gap_at = n // 2 if c.hidden else None
        for r, i in enumerate(c.units):
            slot = r + (1 if gap_at is not None and r >= gap_at else 0)
            c.y[int(i)] = top - slot
        if gap_at is not None:
            c.gap_y = top - gap_at
    # each target just below the output it is compared with (for ce: the target class)
    t_col, out = cols[-1], cols[-2]
    drop = 0.45 if out.units.shape[0] > 1 else 0.6
    for i in t_col.units:
        anchor = int(ex.value["t[0]"]) if (ex is not None and net.loss == "ce") else int(i)
        y_anchor = out.y.get(anchor, 0.0) if net.loss == "ce" else out.y[int(i)]
        t_col.y[int(i)] = y_anchor - drop
    return cols, slots


def columns(net: MLP, X: np.ndarray | None, T: np.ndarray | None, nodes: dict[str, Any] | None,
            max_units: int = MAX_UNITS, index: int | None = None) -> tuple[list[Column], int]:
    """The columns of units :func:`~scalarprop.draw` lays out for the checked example
    ``(X, T)`` (a batch of one; None for both without one) and the engine's ``nodes`` of it:
    the same choice of units (the strongest, with a gap) and the same positions, for a page
    that paints the network itself (:mod:`scalarprop.plot.page`); the units of parameter
    ``index`` are kept. Returns the columns and the tallest column's slots."""
    ex = None if X is None else example(net, X, T, nodes)
    return layout(net, ex, index, int(max_units))
