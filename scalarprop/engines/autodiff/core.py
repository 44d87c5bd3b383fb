"""The computation graph's three objects (lecture part 4, slides 99-103).

* :class:`TensorNode` holds a tensor ``value``, its ``grad`` (same shape, filled by the
  backward pass) and ``source``, the :class:`OpNode` that produced it (``None`` for a leaf).
* :class:`OpNode` is one application of an op: the :class:`Op`, its ``context``, its input
  and output tensor nodes, and the constants it was given.
* :class:`Op` is an operation: ``forward(context, *inputs, **constants)`` computes the outputs
  from raw numpy arrays and may store in ``context`` what its backward needs;
  ``backward(context, goutput)`` turns the gradient of the loss over the output into the
  gradient of the loss over each input (not the local derivative: the *accumulated* one).

The graph is bipartite and built eagerly (slide 108): ``c = a * b`` computes ``c.value`` at
once and records the OpNode that made it. An OpNode holds its inputs strongly and its outputs
weakly, so the graph has no reference cycles and is freed as soon as the loss is dropped.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ...validate import as_float_array

Axis = int | tuple[int, ...] | None


def as_value(value: Any, name: str = "value") -> np.ndarray:
    """``value`` as a float64 numpy array (no copy when it already is one, whatever its
    strides); complex, object and string data are refused with a ValueError."""
    if type(value) is np.ndarray and value.dtype == np.float64:
        return value            # the common case, checked first: every op output comes here
    return as_float_array(value, name, contiguous=False)


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient ``g`` (of the broadcast output's shape) back to an input's ``shape``.

    If ``X`` of shape (m,) is added to every row of ``A`` (n, m), ``S_aj = A_aj + X_j``, then
    ``X∇_j = Σ_a S∇_aj ∂S_aj/∂X_j = Σ_a S∇_aj``: a sum over each axis numpy prepended or
    stretched from 1. (This is the bias gradient of slide 79: ``b∇ = Σₙ K∇``.)"""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes).reshape(shape)


class TensorNode:
    """A tensor in the computation graph: ``value``, ``grad`` and the ``source`` OpNode.

    Args:
        value: the tensor (anything numpy reads as real numbers; stored as float64, without a
            copy when it already is a float64 array, so a parameter node can be a view into a
            network's flat parameter buffer).
        requires_grad: whether backward computes a gradient for this node. Leaves default to
            True; constants (data, targets, literal numbers) should say False. A node made by
            an op requires a gradient when any of its inputs does.
        name: an optional label for printing the graph (``"W0"``, ``"k1"``, ``"loss"``).

    Python's operators build the graph: ``+ - * / @``, unary ``-``, ``**`` with a constant
    exponent, ``x[index]`` (select), ``x.T``; so do the methods ``exp()``, ``sum()``, ….
    """

    __slots__ = ("value", "_grad", "source", "requires_grad", "name", "grad_out",
                 "__weakref__")
    # numpy defers to our reflected operators: ``array + node`` builds a graph, not an array
    # of objects
    __array_ufunc__ = None

    def __init__(self, value: Any, source: OpNode | None = None, requires_grad: bool = True,
                 name: str | None = None) -> None:
        self.value: np.ndarray = as_value(value)
        self._grad: np.ndarray | None = None
        self.source = source
        self.requires_grad = bool(requires_grad)
        self.name = name
        #: optional array of ``value``'s shape that a backward pass fills with this node's
        #: gradient when the node has none yet; ``grad`` is then that array. Ops may compute
        #: straight into it (``context["grad_out"]`` in the walk of :mod:`.engine`), so a
        #: parameter's gradient can land in a network's flat gradient vector without a copy.
        self.grad_out: np.ndarray | None = None

    # -- the gradient --------------------------------------------------------------------------

    @property
    def grad(self) -> np.ndarray:
        """dl/d(value), same shape as ``value``: zeros until a backward pass reaches this node,
        then the sum of every path's contribution (the multivariate chain rule, slide 104).
        Successive backward passes add up until :meth:`zero_grad`."""
        if self._grad is None:
            self._grad = np.zeros_like(self.value)
        return self._grad

    @grad.setter
    def grad(self, g: Any) -> None:
        """Set the gradient (an array of ``value``'s shape), or forget it with None."""
        if g is None:
            self._grad = None
            return
        g = as_value(g, "grad")
        if g.shape != self.value.shape:
            raise ValueError(f"grad: expected shape {self.value.shape}, got {g.shape}")
        self._grad = g

    def add_grad(self, g: np.ndarray) -> None:
        """Add a backward pass's gradient ``g`` (of ``value``'s shape) to ``grad``. The first
        one lands in :attr:`grad_out` when the node has one; a later one makes a new array,
        never an in-place add, because ``g`` may be shared with another node's gradient."""
        if self._grad is not None:
            self._grad = self._grad + g
        elif self.grad_out is not None:
            if g is not self.grad_out:
                np.copyto(self.grad_out, g)
            self._grad = self.grad_out
        else:
            self._grad = g

    @property
    def has_grad(self) -> bool:
        """Whether a backward pass has written a gradient into this node."""
        return self._grad is not None

    def backward(self) -> None:
        """Backpropagate from this node, which must hold a scalar (the loss): fills ``grad`` of
        every node it depends on (see :func:`scalarprop.autodiff.graph.backward`)."""
        _graph.backward(self)

    def zero_grad(self) -> None:
        """Reset the gradient of this node and of every node below it in the graph."""
        _graph.zero_grad(self)

    def clear(self) -> None:
        """Drop the graph below this node (slide 108: ditch it after the step); values and
        gradients stay, every node becomes a leaf."""
        _graph.clear(self)

    # -- shape --------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def is_leaf(self) -> bool:
        return self.source is None

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.value.size != 1:
            raise ValueError(f"item(): this node has shape {self.value.shape}, not one element")
        return float(self.value.reshape(()))

    # -- operators: eager graph building --------------------------------------------------------

    def __add__(self, other: Any) -> TensorNode:
        return _arithmetic.add(self, other)

    def __radd__(self, other: Any) -> TensorNode:
        return _arithmetic.add(other, self)

    def __sub__(self, other: Any) -> TensorNode:
        return _arithmetic.subtract(self, other)

    def __rsub__(self, other: Any) -> TensorNode:
        return _arithmetic.subtract(other, self)

    def __mul__(self, other: Any) -> TensorNode:
        return _arithmetic.multiply(self, other)

    def __rmul__(self, other: Any) -> TensorNode:
        return _arithmetic.multiply(other, self)

    def __truediv__(self, other: Any) -> TensorNode:
        return _arithmetic.divide(self, other)

    def __rtruediv__(self, other: Any) -> TensorNode:
        return _arithmetic.divide(other, self)

    def __matmul__(self, other: Any) -> TensorNode:
        return _arithmetic.matmul(self, other)

    def __rmatmul__(self, other: Any) -> TensorNode:
        return _arithmetic.matmul(other, self)

    def __neg__(self) -> TensorNode:
        return _arithmetic.negate(self)

    def __pow__(self, p: Any) -> TensorNode:
        return _arithmetic.power(self, p)

    def __getitem__(self, index: Any) -> TensorNode:
        return _reductions.select(self, index)

    @property
    def T(self) -> TensorNode:
        return _arithmetic.transpose(self)

    def exp(self) -> TensorNode:
        return _elementwise.exp(self)

    def log(self) -> TensorNode:
        return _elementwise.log(self)

    def sin(self) -> TensorNode:
        return _elementwise.sin(self)

    def cos(self) -> TensorNode:
        return _elementwise.cos(self)

    def sigmoid(self) -> TensorNode:
        return _elementwise.sigmoid(self)

    def tanh(self) -> TensorNode:
        return _elementwise.tanh(self)

    def relu(self) -> TensorNode:
        return _elementwise.relu(self)

    def abs(self) -> TensorNode:
        return _elementwise.abs(self)

    def softplus(self) -> TensorNode:
        return _elementwise.softplus(self)

    def square(self) -> TensorNode:
        return _arithmetic.square(self)

    def sum(self, axis: Axis = None, keepdims: bool = False) -> TensorNode:
        return _reductions.sum(self, axis=axis, keepdims=keepdims)

    def row_sum(self) -> TensorNode:
        return _reductions.row_sum(self)

    def expand(self, shape: int | Sequence[int]) -> TensorNode:
        return _reductions.expand(self, shape)

    def softmax(self, axis: int = -1) -> TensorNode:
        return _softmax.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> TensorNode:
        return _softmax.log_softmax(self, axis=axis)

    # -- printing -----------------------------------------------------------------------------

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        if self.value.size <= 6:
            val = "value=" + _fmt(self.value)
            grad = "grad=" + (_fmt(self._grad) if self._grad is not None else "None")
        else:
            val = f"shape={self.value.shape}"
            grad = "grad=" + ("set" if self._grad is not None else "None")
        origin = "leaf" if self.source is None else f"from {self.source.op.name}"
        const = "" if self.requires_grad else ", constant"
        return f"TensorNode{label}({val}, {grad}, {origin}{const})"


def _fmt(a: np.ndarray) -> str:
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return np.array2string(a, precision=6, separator=", ", suppress_small=False)


def as_node(x: Any) -> TensorNode:
    """``x`` itself if it is a TensorNode, else a constant leaf (no gradient) holding it."""
    if isinstance(x, TensorNode):
        return x
    return TensorNode(x, requires_grad=False)


def value_of(x: Any) -> np.ndarray:
    """The array behind ``x``: a TensorNode's ``value``, else ``np.asarray(x)`` (no dtype
    conversion, no checks)."""
    return x.value if isinstance(x, TensorNode) else np.asarray(x)


class OpNode:
    """One application of an :class:`Op` in the graph (slide 102): ``op``, ``context``,
    ``inputs`` (TensorNodes), ``outputs`` (TensorNodes) and the keyword ``constants``."""

    __slots__ = ("op", "context", "inputs", "constants", "_outputs", "output_shapes",
                 "__weakref__")

    def __init__(self, op: type[Op], context: dict[str, Any], inputs: tuple[TensorNode, ...],
                 constants: dict[str, Any]) -> None:
        self.op = op
        self.context = context
        self.inputs = inputs
        self.constants = constants
        # weak: a node points to its source and the source to its inputs, never back up
        self._outputs: tuple[weakref.ref[TensorNode], ...] = ()
        self.output_shapes: tuple[tuple[int, ...], ...] = ()

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def outputs(self) -> list[TensorNode]:
        """The output nodes that are still alive (all of them while the loss is)."""
        return [n for n in self.output_slots if n is not None]

    @property
    def output_slots(self) -> list[TensorNode | None]:
        """Every output in order, None where the node has been freed (nothing uses it)."""
        return [r() for r in self._outputs]

    def set_outputs(self, outs: tuple[TensorNode, ...]) -> None:
        """Record the output nodes this application made (weakly) and their shapes."""
        self._outputs = tuple([weakref.ref(o) for o in outs])
        self.output_shapes = tuple([o.value.shape for o in outs])

    def detach(self) -> None:
        """Let go of the inputs, the outputs and the context (see :func:`graph.clear`)."""
        self.inputs = ()
        self._outputs = ()
        self.context = {}

    def __repr__(self) -> str:
        ins = ", ".join(str(n.shape) for n in self.inputs)
        outs = ", ".join(str(s) for s in self.output_shapes)
        const = "".join(f", {k}={_short(v)}" for k, v in self.constants.items())
        return f"OpNode({self.op.name}, inputs=[{ins}], outputs=[{outs}]{const})"


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 30 else text[:27] + "..."


class Op:
    """An operation with a forward and a backward (slide 103). Subclass it and write both as
    static methods; ``name`` labels the op in printed graphs.

    * ``forward(context, *inputs, **constants)``: the inputs are raw float64 arrays (the
      values of the input nodes); keyword arguments are constants, which get no gradient.
      Store what the backward needs in the ``context`` dict. Return the output array (or a
      tuple of arrays for several outputs). ``context["needs_grad"]`` tells which inputs need
      a gradient, so that an expensive one (``Xᵀ`` of a data matrix) can be skipped; during
      the fast walk's backward (:func:`.engine.backward_reusing_buffers`),
      ``context.get("grad_out")`` is None or holds, per input, an array the op may
      write that input's gradient into (and return), or None.
    * ``backward(context, goutput)``: given dl/d(output), return dl/d(input) for each
      positional input, in order: a tuple, or a single array for a single input. ``None``
      means no gradient (a constant input, or one that does not need it). As in the lecture's
      Expand, a ``None`` may also be listed for each keyword constant after the inputs.

    Apply an op with :meth:`apply`: ``Sigmoid.apply(x)``, ``Expand.apply(x, shape=(2, 3))``.
    """

    name: ClassVar[str] = "op"

    @staticmethod
    def forward(context: dict[str, Any], *inputs: np.ndarray, **constants: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(context: dict[str, Any], *goutputs: np.ndarray) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **constants: Any) -> Any:
        """Run the op on tensor nodes (other values become constant leaves): compute the
        output now (eager) and record the OpNode that made it."""
        nodes = tuple([x if isinstance(x, TensorNode) else as_node(x) for x in inputs])
        needs = tuple([n.requires_grad for n in nodes])
        context: dict[str, Any] = {"needs_grad": needs}
        raw = cls.forward(context, *[n.value for n in nodes], **constants)
        opnode = OpNode(cls, context, nodes, constants)
        requires = any(needs)
        if type(raw) is tuple:
            outs = tuple([TensorNode(r, source=opnode, requires_grad=requires) for r in raw])
        else:
            outs = (TensorNode(raw, source=opnode, requires_grad=requires),)
        opnode.set_outputs(outs)
        return outs if type(raw) is tuple else outs[0]


# The operator methods above call the op functions of these modules. Those modules import this
# one (TensorNode, Op), so they are imported last, after everything they use is defined.
from . import arithmetic as _arithmetic  # noqa: E402
from . import elementwise as _elementwise  # noqa: E402
from . import graph as _graph  # noqa: E402
from . import reductions as _reductions  # noqa: E402
from . import softmax as _softmax  # noqa: E402
