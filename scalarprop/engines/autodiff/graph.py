"""Walking the graph: backpropagation (slide 104), zero_grad, dropping the graph, printing it.

Backpropagation visits the op nodes in reverse topological order: an op's backward runs only
after every op that consumed its outputs, so the gradient over each output is complete (the
sum over all its uses, the multivariate chain rule) when it is passed down. The order comes
from an iterative depth-first search with an explicit stack: no recursion, so a chain of a
hundred thousand ops is no problem for Python's recursion limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import OpNode, TensorNode


def topological_order(root: TensorNode, gradient_only: bool = False) -> list[OpNode]:
    """Every OpNode below ``root``, each after all the OpNodes that produced its inputs
    (producers first). ``gradient_only``: do not descend into inputs that need no gradient."""
    order: list[OpNode] = []
    if root.source is None:
        return order
    visited: set[int] = set()
    stack: list[tuple[OpNode, bool]] = [(root.source, False)]
    while stack:
        op, expanded = stack.pop()
        if expanded:
            order.append(op)        # all of its inputs' producers are in ``order`` already
            continue
        if id(op) in visited:
            continue
        visited.add(id(op))
        stack.append((op, True))
        for node in reversed(op.inputs):    # first input explored first: the order ops ran
            src = node.source
            if src is not None and id(src) not in visited and (
                    node.requires_grad or not gradient_only):
                stack.append((src, False))
    return order


def all_nodes(root: TensorNode) -> list[TensorNode]:
    """Every TensorNode below ``root`` (and ``root``), producers first, each once."""
    seen: set[int] = set()
    out: list[TensorNode] = []

    def visit(n: TensorNode) -> None:
        if id(n) not in seen:
            seen.add(id(n))
            out.append(n)

    for op in topological_order(root):
        for n in op.inputs:
            visit(n)
        for n in op.outputs:
            visit(n)
    visit(root)
    return out


def backward(loss: TensorNode) -> None:
    """Backpropagate from the scalar ``loss`` (slide 104): afterwards every node that ``loss``
    depends on and that requires a gradient holds dl/d(node) in ``grad`` (added to what it
    held).

    Start with dl/dl = 1. Walk the op nodes from the loss down (reverse topological order);
    each op's backward turns the gradient over its outputs into the gradient over its inputs,
    and a node used by several ops sums one contribution from each (the multivariate chain
    rule). The walk in :mod:`.engine` computes the same with fewer new arrays."""
    check_loss(loss)
    # this pass's gradients, by node; a node's is complete once every op that used it has run
    grads: dict[int, np.ndarray] = {id(loss): np.ones_like(loss.value)}
    nodes: dict[int, TensorNode] = {id(loss): loss}
    for op in reversed(topological_order(loss, gradient_only=True)):
        goutputs = []
        for out, shape in zip(op.output_slots, op.output_shapes):
            g = grads.get(id(out)) if out is not None else None
            goutputs.append(np.zeros(shape) if g is None else g)    # unused output: 0
        ginputs = input_gradients(op, op.op.backward(op.context, *goutputs))
        for node, g in zip(op.inputs, ginputs):
            if g is None:
                continue
            if id(node) in grads:
                grads[id(node)] = grads[id(node)] + g
            else:
                grads[id(node)] = g
                nodes[id(node)] = node
    for key, g in grads.items():
        nodes[key].add_grad(g)


def check_loss(loss: Any) -> None:
    """A ValueError unless ``loss`` is a one-element TensorNode that depends on a node that
    requires a gradient."""
    if not isinstance(loss, TensorNode):
        raise ValueError(f"backward: expected a TensorNode, got {type(loss).__name__}")
    if loss.value.size != 1:
        raise ValueError(f"backward() needs a scalar loss (one element); this node has shape "
                         f"{loss.value.shape}: reduce it first, e.g. with .sum()")
    if not loss.requires_grad:
        raise ValueError("backward(): the loss does not depend on any node that requires a "
                         "gradient (every leaf below it is a constant)")


def input_gradients(op: OpNode, ginputs: Any) -> list[np.ndarray | None]:
    """What ``op.op.backward`` returned, as one array per input (None where the input needs
    no gradient); a RuntimeError names the op if the count or a shape is wrong."""
    if type(ginputs) is not tuple:
        ginputs = (ginputs,)
    n_in = len(op.inputs)
    # the lecture's style allows a trailing None for each keyword constant
    if len(ginputs) != n_in and (len(ginputs) < n_in or
                                 any(g is not None for g in ginputs[n_in:])):
        raise RuntimeError(f"{op.op.name}.backward returned {len(ginputs)} gradients for "
                           f"{n_in} inputs")
    out: list[np.ndarray | None] = []
    for node, g in zip(op.inputs, ginputs):
        if g is None or not node.requires_grad:
            out.append(None)
            continue
        if type(g) is not np.ndarray:
            g = np.asarray(g)
        if g.shape != node.value.shape:
            raise RuntimeError(f"{op.op.name}.backward returned a gradient of shape "
                               f"{g.shape} for an input of shape {node.value.shape}")
        out.append(g)
    return out


def zero_grad(root: TensorNode) -> None:
    """Forget the gradients of ``root`` and of every node below it."""
    for node in all_nodes(root):
        node.grad = None


def clear(root: TensorNode) -> None:
    """Disconnect the graph below ``root``: every node keeps its value and gradient but
    becomes a leaf, every OpNode lets go of its nodes. Anything not referenced elsewhere is
    freed (parameters stay with their modules)."""
    ops = topological_order(root)
    for op in ops:
        for node in op.inputs:
            node.source = None
        op.detach()
    root.source = None


def tensor_labels(root: TensorNode, ops: list[OpNode] | None = None) -> dict[int, str]:
    """A label per tensor node below ``root`` (by ``id``): its ``name``, else a running number
    ``%1, %2, …``, given to the leaves first (in the order the ops use them), then to the
    ops' inputs and outputs in the order the ops ran. ``ops``: ``topological_order(root)``,
    if already at hand. :func:`format_graph` and the drawing label nodes this way."""
    if ops is None:
        ops = topological_order(root)
    labels: dict[int, str] = {}
    counter = 0

    def label(n: TensorNode) -> None:
        nonlocal counter
        if id(n) not in labels:
            if n.name:
                labels[id(n)] = n.name
            else:
                counter += 1
                labels[id(n)] = f"%{counter}"

    for op in ops:
        for n in op.inputs:
            if n.source is None:
                label(n)
    if root.source is None:
        label(root)
    for op in ops:
        for n in op.inputs:
            label(n)
        for n in op.outputs:
            label(n)
    return labels


def format_graph(root: TensorNode) -> str:
    """The graph below ``root`` as text, one line per op in the order it ran::

        x      (1,)    leaf
        %1     (1,)    = neg(x)
        ...

    Nodes are labelled by their ``name`` or by a running number (:func:`tensor_labels`)."""
    ops = topological_order(root)
    labels = tensor_labels(root, ops)
    rows: list[tuple[str, str, str]] = []
    leaves: dict[int, TensorNode] = {}     # in the order they were labelled
    for op in ops:
        for n in op.inputs:
            if n.source is None:
                leaves.setdefault(id(n), n)
    if root.source is None:
        leaves.setdefault(id(root), root)
    for n in leaves.values():
        kind = "leaf" if n.requires_grad else "constant"
        value = f" = {float(n.value.reshape(())):.6g}" if n.value.size == 1 else ""
        rows.append((labels[id(n)], str(n.shape), kind + value))
    for op in ops:
        args = [labels[id(n)] for n in op.inputs]
        args += [f"{k}={_const(v)}" for k, v in op.constants.items()
                 if v is not None and v is not False]
        outs = op.outputs
        names = ", ".join(labels[id(n)] for n in outs) or "?"
        shapes = ", ".join(str(s) for s in op.output_shapes)
        value = ""
        if len(outs) == 1 and outs[0].value.size == 1:
            value = f"   -> {float(outs[0].value.reshape(())):.6g}"
        rows.append((names, shapes, f"= {op.op.name}({', '.join(args)}){value}"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows)


def _const(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    if isinstance(v, tuple) and any(isinstance(e, np.ndarray) for e in v):
        return "(" + ", ".join(_const(e) for e in v) + ")"
    text = repr(v)
    return text if len(text) <= 24 else text[:21] + "..."
