"""The autodiff engine: the :class:`~scalarprop.engines.Engine` contract computed by
building the MLP's graph and walking it backward, and the fast form of that walk.

The same batch conventions as the scalar and vectorized engines: the loss is summed over the
examples, the gradient has the layout of ``net.params``, bce and ce are differentiated from
the logits (``k∇ = y - t`` for the output layer), and the output's own gradient ``y∇`` is
``dl/dy`` of the loss written in terms of ``y``.

:func:`backward_reusing_buffers` computes what :func:`.graph.backward` (slide 104, the plain
walk) computes, with fewer new arrays: a parameter's gradient is computed straight into the
network's flat gradient vector, and a node's gradient is summed in place once the walk owns
the array. Given parameters and a learning rate it also takes the gradient-descent step, which
an op may fold into its own products (:mod:`.fused`). :func:`loss_and_grad`, :func:`loss` and
:func:`train_epoch` build the graph of :meth:`AutodiffMLP.fused_loss` (a ``dense`` op per
layer, one op for the loss; :func:`train_epoch` builds it once per batch size and runs it
again, :class:`.tape.Tape`); :func:`nodes` builds the readable one, whose every ``k`` and
``h`` it reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ... import functions as F
from ...validate import check_batch, finite_updates
from .core import OpNode, TensorNode
from .graph import check_loss, input_gradients, topological_order
from .mlp import AutodiffMLP
from .tape import Tape

name = "autodiff"


def loss_and_grad(net: Any, X: Any, T: Any) -> tuple[float, np.ndarray]:
    """The batch's summed loss and its gradient in the layout of ``net.params``."""
    Xc, Tc = check_batch(net, X, T)
    return _loss_and_grad_into(net, Xc, Tc, np.empty(net.num_params))


def _loss_and_grad_into(net: Any, X: np.ndarray, T: np.ndarray, grad: np.ndarray
                        ) -> tuple[float, np.ndarray]:
    # the body of loss_and_grad for checked arrays, which train_epoch has for every step
    model = AutodiffMLP(net)
    model.grads_into(grad)
    l = model.fused_loss(TensorNode(X, requires_grad=False, name="x"), T)
    backward_reusing_buffers(l)
    return float(l.value), model.flat_grad()


def loss(net: Any, X: Any, T: Any) -> float:
    """The batch's summed loss: the forward pass alone (parameters as constants)."""
    Xc, Tc = check_batch(net, X, T)
    model = AutodiffMLP(net, requires_grad=False)
    return float(model.fused_loss(TensorNode(Xc, requires_grad=False, name="x"), Tc).value)


def nodes(net: Any, X: Any, T: Any) -> dict[str, Any]:
    """Every node's value and gradient per example, ``k1, h1, k1_grad, h1_grad, …`` (the
    last ``h`` is the output ``y``), with ``"loss"`` and ``"grad"``: the keys of
    ``scalar.nodes`` and ``vectorized.nodes``."""
    Xc, Tc = check_batch(net, X, T)
    model = AutodiffMLP(net)
    x = TensorNode(Xc, requires_grad=False, name="x")
    layers = model.layer_nodes(x)
    l = model.loss_from_layers(layers, Tc)
    l.backward()
    out: dict[str, Any] = {}
    for i, (k, h) in enumerate(layers, start=1):
        out[f"k{i}"], out[f"h{i}"] = k.value, h.value
        out[f"k{i}_grad"], out[f"h{i}_grad"] = k.grad, h.grad
    if net.loss in ("bce", "ce"):
        # the loss went through the logits, not through y, so y has no gradient in the graph
        L = len(layers)
        out[f"h{L}_grad"] = F.probability_grad_array(net.loss, out[f"k{L}"], Tc)
    out["loss"] = float(l.value)
    out["grad"] = model.flat_grad()
    return out


@finite_updates
def train_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
                lr: float, step_loss: np.ndarray) -> int:
    """One epoch of gradient descent on checked arrays (the
    :class:`~scalarprop.engines.Engine` contract), one graph per batch shape.

    The first step builds the graph of :meth:`AutodiffMLP.fused_loss` (arrays reused from step
    to step) and keeps it as a :class:`.tape.Tape`; every step of the same batch size runs it
    again, with the step ``θ ← θ − α θ∇`` folded into its backward walk (as
    :func:`backward_reusing_buffers` with ``step`` folds it). A step whose loss is not finite,
    or parameters that are not finite at the end, send the epoch back to its start and to
    :func:`checked_epoch`, which stops exactly before the failing step."""
    start = net.params.copy()
    model = AutodiffMLP(net)
    params = model.parameters()
    tapes: dict[int, Tape] = {}               # batch size -> its graph
    failed = False
    with np.errstate(all="ignore"):           # a diverging run is reported, not warned
        for s, rows in enumerate(batches(order, batch_size)):
            x, t = X[rows], T[rows]
            tape = tapes.get(x.shape[0])
            if tape is None:                  # building the graph runs this step's forward
                xn = TensorNode(x, requires_grad=False, name="x")
                tn = TensorNode(t, requires_grad=False, name="t")
                tape = tapes[x.shape[0]] = Tape(model.fused_loss(xn, tn, reuse=True),
                                                (xn, tn), step=params, lr=lr)
            else:
                tape.forward(x, t)
            tape.backward()
            step_loss[s] = tape.loss.value
            if not math.isfinite(step_loss[s]):
                failed = True
                break
    if not failed and np.isfinite(net.params).all():
        return -1
    net.params[:] = start
    return checked_epoch(net, X, T, order, batch_size, lr, step_loss)


def checked_epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
                  lr: float, step_loss: np.ndarray) -> int:
    """:func:`train_epoch` step by step: the loss and gradient of each batch
    (:func:`loss_and_grad`'s graph), checked before the parameters move."""
    grad = np.empty(net.num_params)
    for s, rows in enumerate(batches(order, batch_size)):
        with np.errstate(all="ignore"):
            step_loss[s], _ = _loss_and_grad_into(net, X[rows], T[rows], grad)
        if not (np.isfinite(step_loss[s]) and np.isfinite(grad).all()):
            return s
        grad *= lr                            # the step α ∇θ, in the gradient's own buffer
        net.params -= grad
    return -1


def batches(order: np.ndarray, batch_size: int) -> Iterator[slice | np.ndarray]:
    """The rows of each batch: ``order[s*B:(s+1)*B]``, as a slice when ``order`` is a run of
    consecutive examples (each batch is then a view of ``X``, not a gathered copy)."""
    n = len(order)
    first = int(order[0]) if n > 0 else 0
    consecutive = n > 0 and bool(np.array_equal(order, np.arange(first, first + n)))
    for s in range((n + batch_size - 1) // batch_size):
        if consecutive:
            yield slice(first + s * batch_size, first + min(n, (s + 1) * batch_size))
        else:
            yield order[s * batch_size:(s + 1) * batch_size]


def backward_reusing_buffers(loss: TensorNode, step: Sequence[TensorNode] = (),
                             lr: float = 0.0) -> None:
    """The walk of :func:`.graph.backward` (same order, same sums), allocating less.

    * A node with a ``grad_out`` buffer and no gradient yet is offered that buffer: the op
      that first sends it a gradient may compute into it (``context["grad_out"]``), and
      later contributions are added into it in place.
    * A sum of two contributions is a new array the walk owns, so the next contribution is
      added into it in place.
    * An output's gradient is handed to its node as soon as the op below it has it.
    * ``step``: parameters to move by one gradient-descent step ``θ ← θ − α θ∇`` (``α`` is
      ``lr``) instead of keeping their gradient. The one op that uses such a parameter (when
      only one does, once) is offered the step (``context["step"]``: per input, ``α`` or
      None) and may take it itself, once it no longer needs the old value, returning None
      for that input (:class:`.fused.Dense` folds it into the gradient's matrix product);
      any other parameter is stepped by the walk when its gradient is complete. A stepped
      parameter gets no ``grad``."""
    check_loss(loss)
    ops = topological_order(loss, gradient_only=True)
    stepping = set(step)
    sole = sole_users(ops, stepping) if stepping else set()
    # nodes as keys: a TensorNode hashes by identity
    pending: dict[TensorNode, np.ndarray] = {loss: np.ones_like(loss.value)}
    owned: set[TensorNode] = set()      # whose pending array this walk may add into in place
    for op in reversed(ops):
        goutputs = []
        for out, shape in zip(op.output_slots, op.output_shapes):
            g = pending.pop(out, None) if out is not None else None
            if g is None:
                g = np.zeros(shape)             # an output no path to the loss goes through
            else:
                out.add_grad(g)
            goutputs.append(g)
        context = op.context
        context["grad_out"] = buffers_offered(op, pending)
        context["step"] = steps_offered(op, sole, lr) if sole else None
        ginputs = input_gradients(op, op.op.backward(context, *goutputs))
        del context["grad_out"], context["step"]
        for node, g in zip(op.inputs, ginputs):
            if g is None:
                continue
            have = pending.get(node)
            if have is None:
                dest = node.grad_out
                if dest is not None and not node.has_grad:
                    if g is not dest:       # the op did not compute into it: copy
                        np.copyto(dest, g)
                    g = dest
                    owned.add(node)
                pending[node] = g
            elif node in owned:
                np.add(have, g, out=have)
            else:
                pending[node] = np.add(have, g, out=np.empty(have.shape))
                owned.add(node)
    for node, g in pending.items():     # the leaves (and nodes whose producer needs no grad)
        if node in stepping:
            node.value -= lr * g
        else:
            node.add_grad(g)


def sole_users(ops: list[OpNode], wanted: set[TensorNode]) -> set[TensorNode]:
    """The nodes among ``wanted`` that exactly one op of ``ops`` reads, once."""
    uses: dict[TensorNode, int] = {}
    for op in ops:
        for node in op.inputs:
            if node in wanted:
                uses[node] = uses.get(node, 0) + 1
    return {node for node, count in uses.items() if count == 1}


def steps_offered(op: OpNode, sole: set[TensorNode], lr: float
                  ) -> tuple[float | None, ...] | None:
    """Per input of ``op``, the learning rate of the step it may take itself (a parameter
    only this op uses), or None; None when there is none."""
    offered = None
    for i, node in enumerate(op.inputs):
        if node in sole:
            if offered is None:
                offered = [None] * len(op.inputs)
            offered[i] = lr
    return tuple(offered) if offered is not None else None


def buffers_offered(op: OpNode, pending: dict[TensorNode, np.ndarray]
                    ) -> tuple[np.ndarray | None, ...] | None:
    """Per input of ``op``, the ``grad_out`` buffer it may compute that input's gradient into:
    only for the first gradient a node receives in this walk, and only once per op (an op
    that uses a node twice must not write both contributions into one buffer)."""
    offered = None
    for i, node in enumerate(op.inputs):
        dest = node.grad_out
        if dest is not None and not node.has_grad and node not in pending and \
                not any(n is node for n in op.inputs[:i]):
            if offered is None:
                offered = [None] * len(op.inputs)
            offered[i] = dest
    return tuple(offered) if offered is not None else None
