"""The computation graph as the lecture draws it (slides 99-101): tensor nodes and op nodes.

The graph is bipartite: every edge joins a tensor node and an op node, so along any path they
alternate, ``x → [neg] → a → [exp] → b → …``. :func:`draw_graph` lays the eager graph below a
loss out left to right, each node in the column after the last of its inputs (the order the
forward pass could run them), and labels

* each tensor node (a rounded box) with its name (or the running number ``%3`` that
  :func:`~scalarprop.autodiff.graph.format_graph` gives it), its shape, and after
  ``backward()`` the norm of its gradient ``‖∇‖``; constants (data, targets, literal numbers)
  are grey and say so;
* each op node (a circle) with its op's name.

As on the slides the edges carry no arrowheads: the computation flows left to right. An input
used twice by the same op (``a + a``) gets two edges, drawn side by side.

Text artists carry gids for programs and tests: ``"tensor:<label>"``, ``"op:<i>"`` (``i`` the
op's place in :func:`~scalarprop.autodiff.graph.topological_order`); the edges are one
``LineCollection`` with gid ``"graph:edges"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engines.autodiff.core import OpNode, TensorNode
from ..engines.autodiff.graph import tensor_labels, topological_order

if TYPE_CHECKING:
    from .figure import Picture

#: graphs with more op nodes than this are refused (the picture would be unreadable)
MAX_OPS = 100


def _layout(loss: TensorNode, ops: list[OpNode]
            ) -> tuple[dict[int, TensorNode], dict[int, int], dict[int, int]]:
    """Tensor nodes by id, and the column of every tensor and op node: an op one right of its
    last input, its outputs one right of it (so tensor and op columns alternate), a leaf one
    left of the first op that uses it."""
    tensors: dict[int, TensorNode] = {}
    col_t: dict[int, int] = {}
    col_op: dict[int, int] = {}
    for op in ops:
        for n in op.inputs:
            tensors.setdefault(id(n), n)
            col_t.setdefault(id(n), 0)       # a leaf (producers come first, so set already)
        c = 1 + max((col_t[id(n)] for n in op.inputs), default=0)
        col_op[id(op)] = c
        for n in op.outputs:
            tensors[id(n)] = n
            col_t[id(n)] = c + 1
    tensors.setdefault(id(loss), loss)
    col_t.setdefault(id(loss), 0)
    # a leaf stands just before the first op that uses it (a bias next to its add, a literal
    # next to its op), not far away in column 0
    first_use: dict[int, int] = {}
    for op in ops:
        for n in op.inputs:
            if n.source is None:
                first_use[id(n)] = min(first_use.get(id(n), col_op[id(op)]), col_op[id(op)])
    for key, c in first_use.items():
        col_t[key] = c - 1
    return tensors, col_t, col_op


def draw_graph(loss: TensorNode, *, max_ops: int = MAX_OPS) -> Picture:
    """Draw the eager computation graph below ``loss`` (slide 99).

    Args:
        loss: a TensorNode; usually the scalar loss, before or after ``loss.backward()``.
        max_ops: refuse graphs with more op nodes than this (a ValueError).

    Returns:
        a :class:`matplotlib.figure.Figure` on the Agg canvas (no display, no pyplot state).
    """
    if not isinstance(loss, TensorNode):
        raise ValueError(f"loss: expected a TensorNode, got {type(loss).__name__}")
    if isinstance(max_ops, bool) or not isinstance(max_ops, (int, np.integer)) or max_ops < 1:
        raise ValueError(f"max_ops={max_ops!r}: expected a positive integer")
    ops = topological_order(loss)
    if len(ops) > max_ops:
        raise ValueError(f"loss: the graph has {len(ops)} op nodes, more than max_ops="
                         f"{max_ops}; draw a smaller graph (fewer layers or ops) or raise "
                         "max_ops")
    labels = tensor_labels(loss, ops)
    tensors, col_t, col_op = _layout(loss, ops)
    pos = _positions(ops, tensors, col_t, col_op)
    return _paint(loss, ops, tensors, labels, pos)


def _positions(ops: list[OpNode], tensors: dict[int, TensorNode], col_t: dict[int, int],
               col_op: dict[int, int]) -> dict[int, tuple[float, float]]:
    """Rows within each column: in the order nodes appear, then each node moved towards the
    mean row of its inputs (one sweep left to right: fewer crossing edges)."""
    columns: dict[int, list[int]] = {}
    inputs: dict[int, list[int]] = {}
    for key, c in col_t.items():
        columns.setdefault(c, []).append(key)
    for op in ops:
        columns.setdefault(col_op[id(op)], []).append(id(op))
        inputs[id(op)] = [id(n) for n in op.inputs]
        for n in op.outputs:
            inputs[id(n)] = [id(op)]
    row: dict[int, float] = {}
    for c in sorted(columns):
        keys = columns[c]
        for r, key in enumerate(keys):
            ins = [row[i] for i in inputs.get(key, []) if i in row]
            row[key] = float(np.mean(ins)) if ins else float(r)
        keys.sort(key=lambda k: row[k])
        for r, key in enumerate(keys):        # spread out, centred on the inputs' rows
            row[key] = r - (len(keys) - 1) / 2.0
    return {key: (float(c), -row[key]) for c, keys in columns.items() for key in keys}


def _paint(loss: TensorNode, ops: list[OpNode], tensors: dict[int, TensorNode],
           labels: dict[int, str], pos: dict[int, tuple[float, float]]) -> Picture:
    from matplotlib.collections import LineCollection

    from .figure import Picture, fmt

    ncols = int(max(p[0] for p in pos.values())) + 1
    nrows = max(sum(1 for p in pos.values() if p[0] == c) for c in range(ncols))
    fig = Picture(figsize=(max(4.0, 1.25 * ncols + 0.6), max(2.6, 0.85 * nrows + 1.2)))
    ax = fig.add_axes((0.02, 0.04, 0.96, 0.84))
    ax.set_axis_off()
    ax.set_xlim(-0.6, ncols - 0.4)
    ax.set_ylim(-(nrows - 1) / 2.0 - 0.6, (nrows - 1) / 2.0 + 0.6)

    # edges: input tensor -> op -> output tensor; an input used twice side by side
    segs = []
    for op in ops:
        ox, oy = pos[id(op)]
        seen: dict[int, int] = {}
        for n in op.inputs:
            k = seen.get(id(n), 0)
            seen[id(n)] = k + 1
            tx, ty = pos[id(n)]
            dy = 0.07 * k
            segs.append(((tx, ty + dy), (ox, oy + dy)))
        for n in op.outputs:
            segs.append(((ox, oy), pos[id(n)]))
    ax.add_collection(LineCollection(segs, colors="#888888", linewidths=1.0, zorder=1,
                                     gid="graph:edges"))

    small = nrows > 6 or ncols > 14
    fs = 7.0 if small else 8.5
    for i, op in enumerate(ops):
        x, y = pos[id(op)]
        ax.text(x, y, op.name, ha="center", va="center", fontsize=fs, zorder=3, gid=f"op:{i}",
                bbox=dict(boxstyle="circle,pad=0.35", fc="#fff1c9", ec="#b08a1a"))
    for key, n in tensors.items():
        x, y = pos[key]
        lines = [labels[key], str(tuple(n.shape))]
        if not n.requires_grad:
            lines.append("constant")
        elif n.has_grad:
            lines.append(f"‖∇‖ = {fmt(np.linalg.norm(n.grad))}")
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=fs, zorder=3,
                gid=f"tensor:{labels[key]}", linespacing=1.25,
                color="#777777" if not n.requires_grad else "#111111",
                bbox=dict(boxstyle="round,pad=0.35",
                          fc="#f2f2f2" if not n.requires_grad else "#e3ecf8",
                          ec="#aaaaaa" if not n.requires_grad else "#1f5fbf"))
    after = "after backward(): ‖∇‖ is the norm of ∂l/∂node" if loss.has_grad else \
        "before backward(): no gradients yet"
    fig.text(0.02, 0.97, f"computation graph of {labels[id(loss)]}: {len(tensors)} tensor "
             f"nodes, {len(ops)} op nodes; {after}", ha="left", va="top", fontsize=9.5,
             gid="title")
    return fig
