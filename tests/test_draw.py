"""draw(): the numbers in the picture are the forward pass's and the engines' gradients.

The figure is read back through the gids of its text artists (``node:k1[2]``, ``edge:W0[1,0]``)
and held against an oracle: the vectorized engine (draw uses the scalar one), the lecture's
worked numbers (slides 43-44), central finite differences, and numpy recomputations of the
definitions (the gap's "strongest units").
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from scalarprop import MLP, vectorized
from scalarprop.examples import lecture_network
from scalarprop.plot.figure import NEGATIVE, POSITIVE
from scalarprop.plot.network import draw

REL = 5e-3   # three significant digits, as printed


def texts(fig: Figure, kind: str) -> dict[str, str]:
    """``{what: text}`` for every text artist whose gid is ``kind:what``."""
    out = {}
    for a in fig.findobj(Text):
        gid = a.get_gid()
        if gid and gid.startswith(kind + ":"):
            out[gid[len(kind) + 1:]] = a.get_text()
    return out


def number(text: str) -> float:
    return float(text.split()[-1] if text.startswith("b ") else text.split()[0])


def close(text: str, value: float) -> bool:
    return number(text) == pytest.approx(value, rel=REL, abs=1e-12)


def engine_nodes(net, x, t):
    """The oracle: the vectorized engine's nodes, by the figure's node keys."""
    nd = vectorized.nodes(net, np.atleast_2d(x), [t] if np.ndim(t) == 0 else np.atleast_2d(t))
    value, grad = {}, {}
    for key, arr in nd.items():
        m = re.fullmatch(r"([kh])(\d+)(_grad)?", key)
        if m:
            for j, v in enumerate(arr[0]):
                (grad if m.group(3) else value)[f"{m.group(1)}{m.group(2)}[{j}]"] = v
    value["loss"] = nd["loss"]
    return value, grad, nd["grad"]


# -- the lecture's network: slides 41-44 --------------------------------------------------------


def test_lecture_values_are_the_slides_numbers():
    net, x, t = lecture_network()
    fig = draw(net, x, t)
    nodes = texts(fig, "node")
    assert nodes["h1[1]"] == "0.99"          # h2 = .99
    assert nodes["h2[0]"] == "10.1"          # y = 10.1
    assert nodes["t[0]"] == "12.1"
    assert nodes["loss"] == "4"                 # (10.1 - 12.1)^2
    assert nodes["x[0]"] == "-1" and nodes["x[1]"] == "2"
    names = texts(fig, "name")
    assert [names[k] for k in ("x[0]", "k1[1]", "h1[1]", "h2[0]", "t[0]", "loss")] == \
        ["x₁", "k₂", "h₂", "y", "t", "l"]
    # every edge shows its weight, every bias too
    edges = texts(fig, "edge")
    assert len(edges) == net.num_params
    for name, text in edges.items():
        assert close(text, net.params[net.param_index(name)]), name


def test_lecture_gradients_are_the_slides_numbers():
    net, x, t = lecture_network()
    fig = draw(net, x, t, show="gradients")
    edges, nodes = texts(fig, "edge"), texts(fig, "node")
    assert edges["W1[0,1]"] == "-3.96"                         # dl/dv2 = 2(y - t) h2
    w12 = 2 * (10.1 - 12.1) * -2.0 * 0.99 * (1 - 0.99) * -1.0  # 2(y-t) v2 h2(1-h2) x1
    assert close(edges["W0[1,0]"], w12)
    assert nodes["h2[0]"] == "-4"                              # dl/dy = 2(y - t)
    assert nodes["h1[1]"] == "8"                               # dl/dh2 = dl/dy v2
    assert nodes["loss"] == "1"                                   # dl/dl


def test_lecture_updates_follow_slides_47_to_53():
    net, x, t = lecture_network()
    fig = draw(net, x, t, show="updates")
    edges, nodes = texts(fig, "edge"), texts(fig, "node")
    # y is too low (10.1 < 12.1): the loss wants y up; v2 < 0, so h2 down; x1 < 0, so w12 up
    assert number(nodes["h2[0]"]) > 0
    assert number(nodes["h1[1]"]) < 0
    assert number(edges["W0[1,0]"]) == pytest.approx(0.0792, rel=REL)
    assert number(edges["W1[0,1]"]) == pytest.approx(3.96, rel=REL)  # v2 <- v2 - a(-3.96)
    colour = {a.get_gid()[5:]: a.get_color() for a in fig.findobj(Text)
              if (a.get_gid() or "").startswith("edge:")}
    _, grad = vectorized.loss_and_grad(net, x, t)
    for name, c in colour.items():
        assert c == (POSITIVE if -grad[net.param_index(name)] > 0 else NEGATIVE), name


# -- any network: every number against another engine --------------------------------------


def check_numbers(fig, net, x, t, show):
    value, grad, pgrad = engine_nodes(net, x, t)
    sign = {"values": 1, "gradients": 1, "updates": -1}[show]
    nodes = texts(fig, "node")
    for key, text in nodes.items():
        if key.startswith(("x", "t")):
            continue
        want = value[key] if show == "values" else sign * (1.0 if key == "loss" else grad[key])
        assert close(text, want), (key, text, want)
    for name, text in texts(fig, "edge").items():
        i = net.param_index(name)
        want = net.params[i] if show == "values" else sign * pgrad[i]
        assert close(text, want), (name, text, want)
    return nodes


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output,loss", HEADS)
def test_every_activation_and_loss_draws_its_numbers(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, depth=2, seed=3)
    x, t = X[0], T[0]
    for show in ("values", "gradients", "updates"):
        fig = draw(net, x, t, show=show, edge_labels=True)
        nodes = check_numbers(fig, net, x, t, show)
        # every node of the network is in the picture (no gap at this width); an identity
        # output is one node y = o, not two
        merged = net.sizes[-1] if output == "identity" else 0
        assert len([k for k in nodes if k[0] in "kh"]) == 2 * sum(net.sizes[1:]) - merged
    fig.canvas.draw()         # and it renders


def test_input_gradients_match_finite_differences():
    net, X, T = make_case("tanh", "softmax", "ce", depth=1, seed=5)
    x, t = X[0], T[0]
    nodes = texts(draw(net, x, t, show="gradients"), "node")
    eps = 1e-6
    for i in range(net.sizes[0]):
        e = np.zeros_like(x)
        e[i] = eps
        fd = (vectorized.loss(net, [x + e], [t]) - vectorized.loss(net, [x - e], [t]))
        assert close(nodes[f"x[{i}]"], fd / (2 * eps)), i


def test_edges_are_weights_width_by_size_colour_by_sign():
    net = MLP([3, 4, 2], seed=1)
    fig = draw(net)
    centre = {}
    for a in fig.findobj(Text):
        if (a.get_gid() or "").startswith("name:"):
            centre[tuple(np.round(a.get_position(), 6))] = a.get_gid()[5:]
    seen = 0
    for lc in fig.findobj(LineCollection):
        m = re.fullmatch(r"edges:W(\d+)", lc.get_gid() or "")
        if not m:
            continue
        l = int(m.group(1))
        widths = []
        for seg, c, lw in zip(lc.get_segments(), lc.get_colors(), lc.get_linewidths()):
            src, dst = (centre[tuple(np.round(p, 6))] for p in seg)
            i = int(re.search(r"\[(\d+)\]", src).group(1))
            j = int(re.search(r"\[(\d+)\]", dst).group(1))
            w = net.weights(l)[j, i]
            blue = np.allclose(c[:3], _rgb(POSITIVE))
            assert blue == (w > 0)
            widths.append((abs(w), lw))
            seen += 1
        widths.sort()
        assert all(a[1] <= b[1] for a, b in zip(widths, widths[1:]))   # wider for larger |w|
    assert seen == 3 * 4 + 4 * 2


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


# -- wide layers: the gap -----------------------------------------------------------------------


def test_784_128_10_draws_with_a_gap_keeping_the_strongest_units():
    net = MLP([784, 128, 10], hidden="sigmoid", output="softmax", loss="ce", seed=0)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=784), 3
    fig = draw(net, x, t, show="gradients")
    gaps = texts(fig, "gap")
    assert gaps == {"x": "… 768 more", "1": "… 112 more"}
    nodes = texts(fig, "node")
    shown_x = sorted(int(k[2:-1]) for k in nodes if k.startswith("x["))
    shown_h = sorted(int(k[3:-1]) for k in nodes if k.startswith("h1["))
    # strongest: the largest |x_i| * sum_j |W0[j, i]|, and |h_j| * sum_m |W1[m, j]|
    strength_x = np.abs(x) * np.abs(net.weights(0)).sum(axis=0)
    assert shown_x == sorted(np.argsort(-strength_x)[:16])
    h = vectorized.nodes(net, x[None], [t])["h1"][0]
    strength_h = np.abs(h) * np.abs(net.weights(1)).sum(axis=0)
    assert shown_h == sorted(np.argsort(-strength_h)[:16])
    assert len([k for k in nodes if k.startswith("h2[")]) == 10     # the outputs: no gap
    value, grad, _ = engine_nodes(net, x, t)
    for key in (f"k1[{j}]" for j in shown_h):
        assert close(nodes[key], grad[key])
    assert nodes["t[0]"] == "3 (y₄)"
    fig.canvas.draw()


def test_max_units_sets_the_gap_and_forces_the_target_class():
    net = MLP([5, 30, 20], output="softmax", loss="ce", seed=2)
    x = np.linspace(-1, 1, 5)
    nodes = texts(draw(net, x, 19, max_units=4), "node")
    assert len([k for k in nodes if k.startswith("h1[")]) == 4
    outputs = [k for k in nodes if k.startswith("h2[")]
    assert len(outputs) == 4 and "h2[19]" in outputs       # the target class is kept
    assert texts(draw(net, x, 19, max_units=4), "gap") == {"x": "… 1 more", "1": "… 26 more",
                                                           "2": "… 16 more"}


# -- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(show="gradient"), r"show='gradient'.*values"),
    (dict(x=[1.0, 2.0, 3.0], t=[1.0]), r"x: .*shape \(2,\)"),
    (dict(x=[[1.0, 2.0], [3.0, 4.0]], t=[[1.0], [2.0]]), r"x: draw shows one example"),
    (dict(x=[1.0, 2.0]), r"x and t"),
    (dict(x=[1.0, np.nan], t=[1.0]), r"x: contains NaN"),
    (dict(x=[1.0, 2.0], t=[1.0, 2.0]), r"t: expected shape"),
    (dict(show="gradients"), r"needs an example"),
    (dict(max_units=1), r"max_units=1"),
    (dict(engine="fast"), r"engine='fast'"),
])
def test_bad_arguments_are_refused_clearly(kwargs, match):
    net, x, t = lecture_network()
    before = net.params.copy()
    args = {"x": None, "t": None, **kwargs}
    if kwargs.get("engine"):
        args.update(x=x, t=t)
    with pytest.raises(ValueError, match=match):
        draw(net, **args)
    assert np.array_equal(net.params, before)


def test_not_a_network_is_refused():
    with pytest.raises(ValueError, match="net: expected a scalarprop MLP"):
        draw([2, 3, 1])


def test_figure_needs_no_display_or_pyplot():
    import sys

    net, x, t = lecture_network()
    fig = draw(net, x, t)
    assert isinstance(fig, Figure) and type(fig.canvas).__name__ == "FigureCanvasAgg"
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"       # shows itself in a notebook
    assert "matplotlib.pyplot" not in sys.modules or not __import__(
        "matplotlib.pyplot").pyplot.get_fignums()


# -- weight=: the paths to the loss and the chain, as explain derives them ---------------------


def paths(fig) -> list[tuple[str, ...]]:
    from matplotlib.lines import Line2D

    return [tuple(a.get_gid()[5:].split(">")) for a in fig.findobj(Line2D)
            if (a.get_gid() or "").startswith("path:")]


def name_positions(fig) -> dict[str, tuple[float, float]]:
    return {a.get_gid()[5:]: tuple(a.get_position()) for a in fig.findobj(Text)
            if (a.get_gid() or "").startswith("name:")}


def test_w12_highlights_exactly_the_paths_through_h2():
    net, x, t = lecture_network()
    fig = draw(net, x, t, weight="w12", show="gradients")
    drawn = paths(fig)
    assert drawn == [("W0[1,0]", "k1[1]", "h1[1]", "k2[0]", "h2[0]", "loss")]
    # and on the canvas the line runs through x1, k2, h2, y, l, and no other hidden unit
    from matplotlib.lines import Line2D

    line = next(a for a in fig.findobj(Line2D) if (a.get_gid() or "").startswith("path:"))
    points = set(zip(*line.get_data()))
    pos = name_positions(fig)
    for key in ("x[0]", "k1[1]", "h1[1]", "h2[0]", "loss"):
        assert pos[key] in points, key
    for key in ("x[1]", "k1[0]", "h1[0]", "k1[2]", "h1[2]"):
        assert pos[key] not in points, key


def test_the_chain_beside_the_figure_is_explains():
    from scalarprop.explain import explain

    net, x, t = lecture_network()
    fig = draw(net, x, t, weight="w12")
    chain = next(a.get_text() for a in fig.findobj(Text) if a.get_gid() == "chain")
    e = explain(net, x, t, "w12")
    lines = chain.splitlines()
    assert lines[0].startswith("∂l/∂w₁₂ = -0.0792")
    assert "one path: x₁" not in chain and "w₁₂ → k₂ → h₂ → y → l" in chain
    for f, want in zip(e.factors, ["-4", "-2", "0.0099", "-1"]):   # slide 44's factors
        row = next(s for s in lines if s.startswith(f.symbol))
        assert row.split()[-1] == want and f.formula in row
    assert "w₁₂ increases" in chain


def combinatorial_paths(net, layer: int) -> int:
    """Paths from a weight of W_layer to the loss, counted from the architecture: one per
    choice of unit in every layer above, the outputs included when the loss sees each output
    through all of them (a softmax without ce: y_j depends on every z_m)."""
    count = 1
    for l in range(layer + 2, net.num_layers + 1):
        count *= net.sizes[l]
    if net.output == "softmax" and net.loss != "ce":
        count *= net.sizes[-1]
    return count


@pytest.mark.parametrize("hidden,output,loss,weight", [
    ("tanh", "identity", "squared", "W0[2,1]"),
    ("sigmoid", "softmax", "squared", "W0[0,2]"),
    ("relu", "softmax", "ce", "W1[3,0]"),
    ("sigmoid", "sigmoid", "bce", "b0[1]"),
])
def test_number_of_highlighted_paths_is_explains_count(hidden, output, loss, weight):
    from scalarprop.explain import explain

    net, X, T = make_case(hidden, output, loss, depth=2, seed=11)
    x, t = X[0], T[0]
    fig = draw(net, x, t, weight=weight)
    e = explain(net, x, t, weight)
    layer = int(weight[1])
    assert e.num_paths == combinatorial_paths(net, layer) > 1
    drawn = paths(fig)
    assert len(drawn) == e.num_paths
    assert sorted(drawn) == sorted(e.path_nodes)
    assert all(p[0] == weight and p[-1] == "loss" for p in drawn)
    chain = next(a.get_text() for a in fig.findobj(Text) if a.get_gid() == "chain")
    assert f"{e.num_paths} paths;" in chain


def test_more_paths_than_explain_lists_highlight_the_edges():
    from scalarprop.explain import MAX_PATHS

    net = MLP([3, 8, 8, 8, 2], hidden="tanh", seed=4)
    x, t = np.array([0.3, -1.0, 2.0]), np.array([0.5, -0.5])
    fig = draw(net, x, t, weight="W0[1,1]")
    assert 8 * 8 * 2 > MAX_PATHS and paths(fig) == []
    lc = [c for c in fig.findobj(LineCollection) if c.get_gid() == "paths:edges"]
    # the edges on some path: W -> k1[1] -> h1[1] -> 8 k2 -> 8 h2 -> 64 k3 -> 8 h3 -> 16 y
    # -> 2 loss (y = z with an identity output: k3 -> y[m] is drawn as a point)
    assert len(lc) == 1 and len(lc[0].get_segments()) > 64
    chain = next(a.get_text() for a in fig.findobj(Text) if a.get_gid() == "chain")
    assert "128 paths;" in chain


def test_paths_through_the_gap_are_counted_not_drawn():
    from scalarprop.explain import explain

    net = MLP([4, 6, 30, 1], hidden="tanh", seed=0)
    x, t = np.linspace(-1, 1, 4), np.array([0.5])
    fig = draw(net, x, t, weight="W0[4,2]", max_units=6)
    e = explain(net, x, t, "W0[4,2]")
    assert e.num_paths == 30                            # one through each unit of layer 2
    drawn = paths(fig)
    shown = {k for k in texts(fig, "node") if k.startswith("h2[")}
    assert len(shown) == 6 and len(drawn) == 6
    assert {p[4] for p in drawn} == shown               # W, k1, h1, k2, h2, ...
    chain = next(a.get_text() for a in fig.findobj(Text) if a.get_gid() == "chain")
    assert "30 paths, 6 drawn;" in chain


@pytest.mark.parametrize("weight,match", [
    ("w99", r"weight='w99'"),
    ("W3[0,0]", r"weight='W3\[0,0\]'.*W0\[0,0\]"),
    (True, r"weight=True"),
])
def test_bad_weight_names_list_the_valid_ones(weight, match):
    net, x, t = lecture_network()
    with pytest.raises(ValueError, match=match):
        draw(net, x, t, weight=weight)


def test_weight_needs_an_example():
    net, _, _ = lecture_network()
    with pytest.raises(ValueError, match="weight= needs an example"):
        draw(net, weight="w12")


@pytest.mark.parametrize("sizes,hidden,output,loss,want", [
    ([2, 3, 1], "sigmoid", "identity", "squared",
     ["input x", "k = W·x + b", "h = σ(k)", "y = V·h + c", "loss (squared)"]),      # slide 41
    ([2, 3, 3], "tanh", "softmax", "ce",
     ["input x", "k = W·x + b", "h = tanh(k)", "z = V·h + c", "y = softmax(z)", "loss (ce)"]),
    ([2, 1], "relu", "identity", "squared", ["input x", "y = W·x + b", "loss (squared)"]),
    ([2, 2], "relu", "sigmoid", "bce", ["input x", "z = W·x + b", "y = σ(z)", "loss (bce)"]),
    ([2, 3, 3, 1], "relu", "identity", "absolute",
     ["input x", "k = W·x + b", "h = relu(k)", "k = W·h + b", "h = relu(k)", "y = W·h + b",
      "loss (absolute)"]),
])
def test_column_headers_are_the_lectures_formulas(sizes, hidden, output, loss, want):
    net = MLP(sizes, hidden=hidden, output=output, loss=loss, seed=0)
    fig = draw(net)
    headers = sorted((a for a in fig.findobj(Text) if (a.get_gid() or "").startswith("header:")),
                     key=lambda a: a.get_position()[0])
    assert [a.get_text() for a in headers] == want


def test_draw_and_draw_graph_make_the_same_kind_of_picture():
    from scalarprop.autodiff import AutodiffMLP, TensorNode, draw_graph

    net, x, t = lecture_network()
    loss = AutodiffMLP(net).loss(TensorNode(x[None], requires_grad=False), t[None])
    assert type(draw_graph(loss)) is type(draw(net, x, t))
    assert type(draw(net)) is type(draw(net, x, t))          # one class, not one per call
