"""The lecture's MLP as an autodiff module (slide 117): Linear layers and activation ops
over the ONE flat parameter buffer of a :class:`scalarprop.MLP`.

Layer ``l`` is ``k = h Wᵀ + b`` and ``h = act(k)`` (the output activation in the last layer),
exactly the network the scalar and vectorized engines compute; the parameter nodes are views
into ``net.params``, so the module reads and writes the same numbers in the same layout, and
:meth:`AutodiffMLP.flat_grad` returns the gradient in that layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...network import MLP
from ...validate import check_T, check_X
from .core import TensorNode
from .elementwise import relu, sigmoid, tanh
from .fused import LOSS_OPS, Buffers, dense
from .losses import LOSSES
from .modules import Linear, Module
from .softmax import softmax

#: activation name -> op (None: the identity, no op at all)
ACTIVATIONS: dict[str, Callable[[TensorNode], TensorNode] | None] = {
    "identity": None, "sigmoid": sigmoid, "relu": relu, "tanh": tanh, "softmax": softmax,
}


class AutodiffMLP(Module):
    """An MLP whose forward pass builds a computation graph.

    ``AutodiffMLP(net)`` wraps a :class:`scalarprop.MLP` (sharing its parameters, no copy);
    ``AutodiffMLP.create(sizes, hidden, output, loss, seed)`` makes a new one.

    >>> model = AutodiffMLP.create([2, 3, 1], seed=0)
    >>> l = model.loss(X, T)            # a scalar TensorNode, the graph below it
    >>> l.backward()
    >>> grad = model.flat_grad()        # the layout of model.params
    """

    def __init__(self, net: MLP, requires_grad: bool = True) -> None:
        if not isinstance(net, MLP):
            raise ValueError(f"net: expected a scalarprop.MLP, got {type(net).__name__} (use "
                             "AutodiffMLP.create(sizes, ...) to make a new network)")
        self.net = net
        self.layers = [Linear(net.sizes[l], net.sizes[l + 1], W=net.weights(l),
                              b=net.biases(l), name=str(l)) for l in range(net.num_layers)]
        self._grad_buffer: np.ndarray | None = None
        #: per layer, then for the loss: the arrays :meth:`fused_loss` reuses
        self.buffers = [Buffers() for _ in range(net.num_layers + 1)]
        if not requires_grad:       # e.g. for finite differences: the loss alone
            for layer in self.layers:
                layer.W.requires_grad = layer.b.requires_grad = False

    @classmethod
    def create(cls, sizes: Sequence[int], hidden: str = "sigmoid", output: str = "identity",
               loss: str = "squared", seed: int | None = None) -> AutodiffMLP:
        """A new network (initialised as :class:`scalarprop.MLP` does)."""
        return cls(MLP(sizes, hidden=hidden, output=output, loss=loss, seed=seed))

    # -- the flat layout ----------------------------------------------------------------------

    @property
    def params(self) -> np.ndarray:
        """Every weight and bias in ``net.params``'s layout (the buffer itself)."""
        return self.net.params

    @params.setter
    def params(self, value: Any) -> None:
        self.net.params = value         # copies into the buffer the layers view

    def flat_grad(self) -> np.ndarray:
        """The parameters' gradients, in the layout of :attr:`params`: the buffer given to
        :meth:`grads_into` if the backward pass wrote them there, else a new array."""
        grad = self._grad_buffer if self._grad_buffer is not None else \
            np.empty(self.net.num_params)
        for l, layer in enumerate(self.layers):
            ws, bs = self.net.layer_slices(l)
            for p, dest in ((layer.W, grad[ws].reshape(layer.W.shape)), (layer.b, grad[bs])):
                in_place = p.has_grad and p.grad is p.grad_out and \
                    np.shares_memory(p.grad_out, grad)
                if not in_place:
                    dest[...] = p.grad
        return grad

    def grads_into(self, grad: np.ndarray) -> None:
        """Let the next backward pass write the parameters' gradients straight into ``grad``
        (a float64 vector in the layout of :attr:`params`) instead of new arrays: each
        parameter node's ``grad_out`` becomes its view of ``grad``. Every later pass that
        finds the gradients reset (:meth:`zero_grad`) writes into the same buffer again."""
        if not (isinstance(grad, np.ndarray) and grad.dtype == np.float64
                and grad.shape == (self.net.num_params,) and grad.flags.c_contiguous):
            raise ValueError(f"grad: expected a contiguous float64 array of shape "
                             f"({self.net.num_params},)")
        self._grad_buffer = grad
        for l, layer in enumerate(self.layers):
            ws, bs = self.net.layer_slices(l)
            layer.W.grad_out = grad[ws].reshape(layer.W.shape)
            layer.b.grad_out = grad[bs]

    # -- forward --------------------------------------------------------------------------------

    def layer_nodes(self, x: Any, output_activation: bool = True
                    ) -> list[tuple[TensorNode, TensorNode]]:
        """``[(k, h) for each layer]`` as graph nodes named ``k1, h1, …, kL, y``; the last
        ``h`` is the output ``y`` (``output_activation=False``: skip it, ``y`` is then ``kL``).
        With the identity activation ``h`` is the node ``k`` itself."""
        h = self._input(x)
        out = []
        L = len(self.layers)
        for l, layer in enumerate(self.layers, start=1):
            k = layer(h)
            k.name = f"k{l}"
            act = ACTIVATIONS[self.net.output if l == L else self.net.hidden]
            if act is not None and (l < L or output_activation):
                h = act(k)
                h.name = "y" if l == L else f"h{l}"
            else:
                h = k
            out.append((k, h))
        return out

    def forward(self, x: Any) -> TensorNode:
        """The output ``y`` for a batch ``x`` (an (n, sizes[0]) array or TensorNode)."""
        return self.layer_nodes(x)[-1][1]

    def loss(self, x: Any, t: Any) -> TensorNode:
        """The batch's summed loss as a scalar node. bce and ce are taken from the logits,
        so their graph stops at the last ``k``: the output ``y`` is not computed."""
        xn = self._input(x)
        tc = check_T(self.net, t, xn.value.shape[0])
        from_logits = LOSSES[self.net.loss][1]
        return self.loss_from_layers(self.layer_nodes(xn, output_activation=not from_logits), tc)

    def loss_from_layers(self, layers: list[tuple[TensorNode, TensorNode]], t: np.ndarray
                         ) -> TensorNode:
        """The loss node on top of :meth:`layer_nodes`, for targets packed by ``check_T``."""
        fn, from_logits = LOSSES[self.net.loss]
        k, h = layers[-1]
        l = fn(k if from_logits else h, t)
        l.name = "loss"
        return l

    def fused_loss(self, x: TensorNode, t: np.ndarray | TensorNode, reuse: bool = False
                   ) -> TensorNode:
        """The loss of :meth:`loss` from fewer, larger ops (:mod:`.fused`): one ``dense`` op
        per layer and one op for the loss (absolute and hinge: their ops of :mod:`.losses`),
        for a checked batch ``x`` and targets packed by ``check_T`` (or a constant node
        holding them). ``reuse``: every array goes into :attr:`buffers`, overwriting the
        graph built before."""
        net, L = self.net, len(self.layers)
        h = x
        for l, layer in enumerate(self.layers):
            act = net.hidden if l < L - 1 else net.output
            if l == L - 1 and (act == "softmax" or net.loss in ("bce", "ce")):
                act = "identity"        # bce and ce from the logits; softmax is no dense act
            h = dense(h, layer.W, layer.b, act, self.buffers[l] if reuse else None)
        if net.output == "softmax" and net.loss != "ce":
            h = softmax(h)
        one_op = LOSS_OPS.get(net.loss)
        if one_op is None:
            l = LOSSES[net.loss][0](h, t)
        else:
            l = one_op.apply(h, t, buffers=self.buffers[L] if reuse else None)
        l.name = "loss"
        return l

    def _input(self, x: Any) -> TensorNode:
        if isinstance(x, TensorNode):
            if x.value.ndim != 2 or x.value.shape[1] != self.net.sizes[0]:
                raise ValueError(f"x: expected shape (n, {self.net.sizes[0]}), got "
                                 f"{x.value.shape}")
            return x
        X, _ = check_X(self.net, x, "x")
        return TensorNode(X, requires_grad=False, name="x")

    def __repr__(self) -> str:
        n = self.net
        return (f"AutodiffMLP(sizes={list(n.sizes)}, hidden={n.hidden!r}, "
                f"output={n.output!r}, loss={n.loss!r})")
