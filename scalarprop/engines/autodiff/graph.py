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
    """Backpropagate from the scalar ``loss``: afterwards every node that ``loss`` depends on
    and that requires a gradient holds dl/d(node) in ``grad`` (added to what it held).

    The gradient of the loss over itself is 1. Walking the op nodes from the loss down, each
    op's backward turns the gradient over its outputs into the gradient over its inputs; a node
    used by several ops receives one contribution from each, and these are summed."""
    if not isinstance(loss, TensorNode):
        raise ValueError(f"backward: expected a TensorNode, got {type(loss).__name__}")
    if loss.value.size != 1:
        raise ValueError(f"backward() needs a scalar loss (one element); this node has shape "
                         f"{loss.value.shape}: reduce it first, e.g. with .sum()")
    if not loss.requires_grad:
        raise ValueError("backward(): the loss does not depend on any node that requires a "
                         "gradient (every leaf below it is a constant)")
    # the gradients of this pass, by node id, until the node's producer has used them
    pending: dict[int, np.ndarray] = {id(loss): np.ones_like(loss.value)}
    nodes: dict[int, TensorNode] = {id(loss): loss}
    owned: set[int] = set()     # arrays this walk allocated itself: safe to add into in place

    for op in reversed(topological_order(loss, gradient_only=True)):
        goutputs = []
        for out, shape in zip([r() for r in op._outputs], op.output_shapes):
            g = pending.pop(id(out), None) if out is not None else None
            if g is None:
                g = np.zeros(shape)         # an output no path to the loss goes through
            elif out is not None:
                _store(out, g)
            goutputs.append(g)
        op.context["grad_out"] = _destinations(op, pending)
        ginputs = op.op.backward(op.context, *goutputs)
        if type(ginputs) is not tuple:
            ginputs = (ginputs,)
        _check_arity(op, ginputs)
        for node, g in zip(op.inputs, ginputs):
            if g is None or not node.requires_grad:
                continue
            g = np.asarray(g)
            if g.shape != node.value.shape:
                raise RuntimeError(f"{op.op.name}.backward returned a gradient of shape "
                                   f"{g.shape} for an input of shape {node.value.shape}")
            key = id(node)
            have = pending.get(key)
            if have is None:
                dest = node.grad_out
                if dest is not None and node._grad is None:
                    if g is not dest:       # the op did not compute into it: copy
                        np.copyto(dest, g)
                    g = dest
                    owned.add(key)          # the node's own buffer: later uses add into it
                pending[key] = g
                nodes[key] = node
            elif key in owned:
                np.add(have, g, out=have)
            else:
                pending[key] = np.add(have, g, out=np.empty(have.shape))
                owned.add(key)
    for key, g in pending.items():      # the leaves (and nodes whose producer needs no grad)
        _store(nodes[key], g)


def _destinations(op: OpNode, pending: dict[int, np.ndarray]
                  ) -> tuple[np.ndarray | None, ...] | None:
    # a node's grad_out, offered to the op that first sends it a gradient in this pass
    dests = None
    for i, node in enumerate(op.inputs):
        dest = node.grad_out
        if dest is not None and node._grad is None and id(node) not in pending and \
                not any(n is node for n in op.inputs[:i]):
            if dests is None:
                dests = [None] * len(op.inputs)
            dests[i] = dest
    return tuple(dests) if dests is not None else None


def _store(node: TensorNode, g: np.ndarray) -> None:
    # a new array, never an in-place add: g may be shared with another node's gradient
    node._grad = g if node._grad is None else np.asarray(node._grad + g)


def _check_arity(op: OpNode, ginputs: tuple[Any, ...]) -> None:
    n_in = len(op.inputs)
    if len(ginputs) == n_in:
        return
    if len(ginputs) > n_in and all(g is None for g in ginputs[n_in:]):
        return                  # the lecture's style: a None for each constant too
    raise RuntimeError(f"{op.op.name}.backward returned {len(ginputs)} gradients for "
                       f"{n_in} inputs")


def zero_grad(root: TensorNode) -> None:
    """Forget the gradients of ``root`` and of every node below it."""
    for node in all_nodes(root):
        node._grad = None


def clear(root: TensorNode) -> None:
    """Disconnect the graph below ``root``: every node keeps its value and gradient but
    becomes a leaf, every OpNode lets go of its nodes. Anything not referenced elsewhere is
    freed (parameters stay with their modules)."""
    ops = topological_order(root)
    for op in ops:
        for node in op.inputs:
            node.source = None
        op.inputs = ()
        op._outputs = ()
        op.context = {}
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
