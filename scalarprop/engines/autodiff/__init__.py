"""Part 4 of the lecture: automatic differentiation.

An eager computation graph of :class:`TensorNode` and :class:`OpNode` objects is built while
the forward pass computes; ``loss.backward()`` walks it from the scalar loss down, calling each
op's backward. The MLP built from these ops (:class:`AutodiffMLP`) is the third engine::

    from scalarprop import MLP, autodiff
    loss, grad = autodiff.loss_and_grad(net, X, T)     # the engine contract

    a = autodiff.TensorNode(2.0)
    f = 2 / (-a).exp().sin()                           # the lecture's f(x) = 2/sin(e^-x)
    f.backward(); a.grad
"""

from .arithmetic import (
    Add,
    Divide,
    MatMul,
    Multiply,
    Negate,
    Power,
    Square,
    Subtract,
    Transpose,
    add,
    divide,
    matmul,
    multiply,
    negate,
    power,
    square,
    subtract,
    transpose,
    unbroadcast,
)
from .core import Op, OpNode, TensorNode
from .elementwise import (
    Abs,
    Cos,
    Exp,
    Log,
    ReLU,
    Sigmoid,
    Sin,
    Softplus,
    Tanh,
    abs,
    cos,
    exp,
    log,
    relu,
    sigmoid,
    sin,
    softplus,
    tanh,
)
from .engine import loss, loss_and_grad, name, nodes, train_epoch
from .graph import all_nodes, backward, clear, format_graph, topological_order, zero_grad
from .layer import LinearMap, linear
from .mlp import AutodiffMLP
from .modules import Linear, Module
from .reductions import (
    Expand,
    RowSum,
    Select,
    Sum,
    Where,
    expand,
    pick,
    row_sum,
    select,
    sum,
    where,
)
from .softmax import LogSoftmax, Softmax, log_softmax, softmax

__all__ = [
    "TensorNode", "OpNode", "Op",
    "backward", "zero_grad", "clear", "format_graph", "topological_order", "all_nodes",
    "Add", "Subtract", "Multiply", "Divide", "Negate", "Power", "Square", "MatMul",
    "Transpose", "add", "subtract", "multiply", "divide", "negate", "power", "square",
    "matmul", "transpose", "unbroadcast",
    "Exp", "Log", "Sin", "Cos", "Sigmoid", "Tanh", "ReLU", "Abs", "Softplus",
    "exp", "log", "sin", "cos", "sigmoid", "tanh", "relu", "abs", "softplus",
    "Sum", "RowSum", "Expand", "Select", "Where", "sum", "row_sum", "expand", "select",
    "pick", "where",
    "Softmax", "LogSoftmax", "softmax", "log_softmax", "LinearMap", "linear",
    "Module", "Linear", "AutodiffMLP",
    "name", "loss_and_grad", "loss", "nodes", "train_epoch",
]
