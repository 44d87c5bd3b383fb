"""draw_graph(): the eager graph as slide 99 draws it, read back from the figure."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.text import Text

from scalarprop import MLP
from scalarprop.autodiff import AutodiffMLP, TensorNode, draw_graph, topological_order
from scalarprop.examples import lecture_network


def read(fig):
    """(tensor labels, op labels, positions) by gid, and the edges' endpoints."""
    tensors, ops, where = {}, {}, {}
    for a in fig.findobj(Text):
        gid = a.get_gid() or ""
        if gid.startswith("tensor:"):
            tensors[gid[7:]] = a.get_text().split("\n")
            where[tuple(np.round(a.get_position(), 6))] = ("tensor", gid[7:])
        elif gid.startswith("op:"):
            ops[int(gid[3:])] = a.get_text()
            where[tuple(np.round(a.get_position(), 6))] = ("op", int(gid[3:]))
    lc = next(c for c in fig.findobj(LineCollection) if c.get_gid() == "graph:edges")
    return tensors, ops, where, lc.get_segments()


def lecture_f(x: float):
    """f(x) = 2 / sin(e^-x), slide 36, built from ops."""
    a = TensorNode(x, name="x")
    return a, 2 / (-a).exp().sin()


def test_the_lectures_function_before_and_after_backward():
    x, f = lecture_f(1.0)
    tensors, ops, _, segs = read(draw_graph(f))
    # x, -x, e^-x, sin(e^-x), the constant 2, f: six tensor nodes; four ops
    assert len(tensors) == 6 and sorted(ops.values()) == ["divide", "exp", "negate", "sin"]
    assert all(lines[1] == "()" for lines in tensors.values())      # every shape a scalar
    assert not any("‖∇‖" in "\n".join(v) for v in tensors.values())   # no gradient yet
    assert sum(v[-1] == "constant" for v in tensors.values()) == 1
    assert len(segs) == 1 + 1 + 1 + 2 + 4       # inputs of negate, exp, sin, divide; outputs

    f.backward()
    tensors, _, _, _ = read(draw_graph(f))
    # the lecture's product of local derivatives: -2/c² · cos b · e^a · -1
    a_ = -1.0
    b = math.exp(a_)
    c = math.sin(b)
    dfdx = -2 / c**2 * math.cos(b) * b * -1
    assert tensors["x"][2] == f"‖∇‖ = {abs(dfdx):.3g}"
    name_of_f = next(k for k, v in tensors.items() if v[-1] == "‖∇‖ = 1")
    assert name_of_f.startswith("%")                                  # ∂f/∂f = 1


def test_tensor_and_op_nodes_alternate():
    net, x, t = lecture_network()
    loss = AutodiffMLP(net).loss(x[None], t[None])
    loss.backward()
    fig = draw_graph(loss)
    tensors, ops, where, segs = read(fig)
    order = topological_order(loss)
    assert len(ops) == len(order)
    assert [ops[i] for i in range(len(order))] == [op.name for op in order]
    for seg in segs:            # bipartite: every edge joins a tensor node and an op node
        kinds = sorted(where[tuple(np.round(p, 6))][0] for p in seg)
        assert kinds == ["op", "tensor"]
        # and the computation flows left to right
        assert seg[0][0] < seg[1][0]
    assert len(segs) == sum(len(op.inputs) + len(op.outputs) for op in order)
    # shapes and gradient norms, checked against the nodes themselves and the engine
    assert tensors["W0"][1] == "(3, 2)" and tensors["b1"][1] == "(1,)"
    from scalarprop import vectorized

    _, grad = vectorized.loss_and_grad(net, x, t)
    for l in range(net.num_layers):
        w_slice, b_slice = net.layer_slices(l)
        assert tensors[f"W{l}"][2] == f"‖∇‖ = {np.linalg.norm(grad[w_slice]):.3g}"
        assert tensors[f"b{l}"][2] == f"‖∇‖ = {np.linalg.norm(grad[b_slice]):.3g}"
    assert tensors["loss"][1:] == ["()", "‖∇‖ = 1"]
    assert tensors["x"][-1] == "constant"


def test_a_node_used_twice_gets_two_edges():
    a = TensorNode(np.arange(3.0), name="a")
    b = a + a
    c = (b * b).sum()
    c.backward()
    tensors, ops, where, segs = read(draw_graph(c))
    assert sorted(ops.values()) == ["add", "multiply", "sum"]
    pos = {v: k for k, v in where.items()}
    ax, add = pos[("tensor", "a")][0], pos[("op", 0)][0]
    assert ops[0] == "add"
    into_add = [s for s in segs if (round(s[0][0], 6), round(s[1][0], 6)) == (ax, add)]
    assert len(into_add) == 2 and into_add[0][0][1] != into_add[1][0][1]   # side by side
    assert tensors["a"][2] == f"‖∇‖ = {np.linalg.norm(8 * np.arange(3.0)):.3g}"  # d(4a²)/da


def test_a_wider_mlp_and_a_single_leaf():
    net = MLP([4, 5, 3], hidden="relu", output="softmax", loss="ce", seed=0)
    loss = AutodiffMLP(net).loss(np.ones((8, 4)), np.arange(8) % 3)
    tensors, ops, _, _ = read(draw_graph(loss))
    assert tensors["k1"][1] == "(8, 5)" and len(ops) == len(topological_order(loss))
    leaf = TensorNode(np.zeros((2, 2)), name="w")
    tensors, ops, _, segs = read(draw_graph(leaf))
    assert tensors == {"w": ["w", "(2, 2)"]} and ops == {} and len(segs) == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="loss: expected a TensorNode"):
        draw_graph(np.ones(3))
    a = TensorNode(1.0)
    for _ in range(5):
        a = a * 2
    with pytest.raises(ValueError, match="5 op nodes, more than max_ops=4"):
        draw_graph(a, max_ops=4)
    with pytest.raises(ValueError, match="max_ops=0"):
        draw_graph(a, max_ops=0)
