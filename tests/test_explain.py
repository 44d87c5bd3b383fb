"""explain() against the lecture's worked numbers (slides 41-53), both engines and finite
differences, for every activation/loss pair at depths 1-3."""

import math

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case

from scalarprop import MLP, explain, scalar, vectorized
from scalarprop.examples import lecture_network
from scalarprop.explain import MAX_PATHS, parse_weight


def _engine_grads(net, x, t):
    return (scalar.loss_and_grad(net, np.atleast_2d(x), t)[1],
            vectorized.loss_and_grad(net, np.atleast_2d(x), t)[1])


# -- the lecture's network (slides 41-45) ------------------------------------------------------


def test_dl_dv2_is_minus_3_96():
    net, x, t = lecture_network()
    e = explain(net, x, t, "v2")
    assert e.weight == "W1[0,1]" and e.symbol == "v₂"
    assert e.gradient == pytest.approx(-3.96, abs=1e-12)        # 2(10.1 − 12.1) · .99
    assert [f.symbol for f in e.factors] == ["∂l/∂y", "∂y/∂v₂"]
    assert [f.formula for f in e.factors] == ["2(y − t)", "h₂"]
    assert [f.value for f in e.factors] == pytest.approx([-4.0, 0.99], abs=1e-12)
    assert e.loss == pytest.approx(4.0, abs=1e-12)
    gs, gv = _engine_grads(net, x, t)
    for g in (gs, gv, [e.engines["scalar"]], [e.engines["vectorized"]]):
        assert e.product == pytest.approx(g[-1] if len(g) == 1 else g[e.index], abs=1e-12)
    assert e.finite_difference == pytest.approx(-3.96, abs=1e-6)
    assert e.update_direction == 1                # v₂ ← v₂ − α·(−3.96): v₂ increases
    assert "∂l/∂v₂ = ∂l/∂y · ∂y/∂v₂" in str(e)
    assert "= −3.96" in str(e)


def test_dl_dw12_is_the_product_of_four_local_derivatives():
    net, x, t = lecture_network()
    e = explain(net, x, t, "w12")
    assert e.weight == "W0[1,0]" and e.num_paths == 1 and e.branch is None
    assert [f.symbol for f in e.factors] == ["∂l/∂y", "∂y/∂h₂", "∂h₂/∂k₂", "∂k₂/∂w₁₂"]
    assert [f.formula for f in e.factors] == ["2(y − t)", "v₂", "h₂(1 − h₂)", "x₁"]
    # slide 44 with the slide's numbers: 2(10.1 − 12.1), v₂ = −2, .99(1 − .99), x₁ = −1
    assert [f.value for f in e.factors] == pytest.approx([-4.0, -2.0, 0.0099, -1.0], abs=1e-12)
    assert [f.sign for f in e.factors] == [-1, -1, 1, -1]
    gs, gv = _engine_grads(net, x, t)
    assert abs(e.product - gs[e.index]) <= 1e-12
    assert abs(e.product - gv[e.index]) <= 1e-12
    assert e.engines == {"scalar": gs[e.index], "vectorized": gv[e.index]}
    assert e.finite_difference == pytest.approx(e.product, abs=1e-7)
    text = str(e)
    assert "∂l/∂w₁₂ = ∂l/∂y · ∂y/∂h₂ · ∂h₂/∂k₂ · ∂k₂/∂w₁₂" in text
    assert "= 2(y − t) · v₂ · h₂(1 − h₂) · x₁" in text
    assert "= 2(10.1 − 12.1) · (−2) · 0.99(1 − 0.99) · (−1)" in text
    assert e.path_nodes == [("W0[1,0]", "k1[1]", "h1[1]", "k2[0]", "h2[0]", "loss")]
    md = e._repr_markdown_()
    assert r"\frac{\partial l}{\partial w_{12}}" in md and "$$" in md
    assert r"h_{2}(1-h_{2})" in md


def test_lecture_epoch_reading_of_w12():
    """Slide 53: the negatives of v₂ and x₁ cancel (here the output is too low, so w₁₂ rises),
    and the saturated sigmoid (h₂ = .99) shrinks the step."""
    net, x, t = lecture_network()
    e = explain(net, x, t, "w12")
    assert e.update_direction == 1
    reading = "\n".join(e.reading)
    assert "output too low" in reading and "l wants y up" in reading
    assert "y up needs h₂ down" in reading and "negative weight" in reading
    assert "saturated sigmoid" in reading
    assert "k₂ down needs w₁₂ up" in reading and "negative input" in reading
    assert reading.endswith("w₁₂ increases")


def test_lecture_names_map_to_parameter_names():
    net, _, _ = lecture_network()
    cases = {"w12": "W0[1,0]", "w_{1,2}": "W0[1,0]", "w1,2": "W0[1,0]", "w23": "W0[2,1]",
             "b2": "b0[1]", "v2": "W1[0,1]", "v2,1": "W1[0,1]", "v3": "W1[0,2]", "c": "b1[0]",
             "W0[1,0]": "W0[1,0]", "b1[0]": "b1[0]", 6: "b0[0]"}
    for name, param in cases.items():
        assert net.param_name(parse_weight(net, name)) == param, name
    several = MLP([2, 3, 2], output="softmax", loss="ce", seed=0)
    assert several.param_name(parse_weight(several, "v21")) == "W1[0,1]"   # hidden 2 → out 1
    assert several.param_name(parse_weight(several, "v32")) == "W1[1,2]"
    assert several.param_name(parse_weight(several, "c2")) == "b1[1]"
    wide = MLP([12, 9, 1], seed=0)
    assert wide.param_name(parse_weight(wide, "w12,9")) == "W0[8,11]"
    assert wide.param_name(parse_weight(wide, "w111")) == "W0[0,10]"   # 1,11: no hidden 11
    e = explain(several, [0.5, -1.0], 1, "v21")
    assert e.lecture_name == "v21" and e.symbol == "v₂₁"


def test_negative_activation_flips_the_update():
    """Slides 48-51: y = 10, t = 0 so 2(y − t) = 20; with tanh, h = (.1, −.5, .9), v₂ is
    multiplied by a negative activation and rises while v₁ and v₃ fall."""
    net = MLP([2, 3, 1], hidden="tanh", seed=0)
    h = np.array([0.1, -0.5, 0.9])
    net.weights(0)[:] = 0.0
    net.biases(0)[:] = np.arctanh(h)
    net.weights(1)[:] = [[0.7, 1.3, -0.4]]
    net.biases(1)[:] = 10.0 - net.weights(1)[0] @ h
    x, t = np.array([0.3, -0.2]), np.array([0.0])
    grads = [explain(net, x, t, f"v{j}") for j in (1, 2, 3)]
    assert [e.gradient for e in grads] == pytest.approx([2.0, -10.0, 18.0], abs=1e-12)
    assert [e.update_direction for e in grads] == [-1, 1, -1]
    assert "negative activation" in "\n".join(grads[1].reading)
    assert "output too high" in grads[1].reading[0]


def test_saturation_is_flagged_only_when_saturated():
    net, x, t = lecture_network()
    notes = {f.symbol: f.note for f in explain(net, x, t, "w11").factors}
    assert "saturated" not in notes["∂h₁/∂k₁"]                # h₁ = .35
    notes = {f.symbol: f.note for f in explain(net, x, t, "w12").factors}
    assert "saturated" in notes["∂h₂/∂k₂"]                    # h₂ = .99


# -- every activation and loss, depths 1-3 -----------------------------------------------------

CASES = [(h, o, l, d) for d in (1, 2, 3) for h in HIDDEN for o, l in HEADS]


@pytest.mark.parametrize("hidden,output,loss,depth", CASES)
def test_paths_and_accumulated_form_equal_the_engines(hidden, output, loss, depth):
    net, X, T = make_case(hidden, output, loss, depth, seed=100 + depth)
    x, t = X[0], (T[0] if loss != "ce" else int(T[0]))
    gs, gv = _engine_grads(net, x, np.atleast_1d(t) if loss == "ce" else t[None])
    nodes = scalar.nodes(net, x[None], np.atleast_1d(t) if loss == "ce" else t[None])
    before = net.params.copy()
    listed = 0
    for q in range(net.num_params):
        e = explain(net, x, t, q)
        assert e.index == q
        for g in (gs[q], gv[q]):
            assert abs(e.gradient - g) <= 1e-10, (e.weight, e.gradient, g)
        assert abs(e.product - gs[q]) <= 1e-10        # the chain, whatever its top
        assert abs(e.accumulated[-1].values[0] - gs[q]) <= 1e-10
        if e.num_paths <= MAX_PATHS:
            listed += 1
            assert len(e.paths) == e.num_paths
            assert abs(e.path_sum - gs[q]) <= 1e-10
            for p in e.paths:
                assert p.nodes[0] == e.weight and p.nodes[-1] == "loss"
                assert p.value == math.prod(f.value for f in p.factors)
            assert set().union(*(zip(p.nodes[:-1], p.nodes[1:]) for p in e.paths)) \
                == e.edges()
        else:                                          # too many: the accumulated form
            assert e.paths == () and e.path_sum is None
        if not e.at_kink:
            assert abs(e.finite_difference - gs[q]) <= 1e-5 + 1e-4 * abs(gs[q])
        direction = -np.sign(gs[q]) if abs(gs[q]) > 1e-12 else None
        if direction is not None:
            assert e.update_direction == direction
    # the node gradients of explain's own backward pass, against the scalar engine's
    for l in range(1, net.num_layers + 1):
        for j in range(net.sizes[l]):
            assert abs(e.node_grads[f"k{l}[{j}]"] - nodes[f"k{l}_grad"][0, j]) <= 1e-10
            if l < net.num_layers:
                assert abs(e.node_grads[f"h{l}[{j}]"] - nodes[f"h{l}_grad"][0, j]) <= 1e-10
    assert listed > 0
    assert np.array_equal(net.params, before)
    assert str(e) and e._repr_markdown_()


def test_path_count_matches_the_enumeration():
    net, X, T = make_case("tanh", "softmax", "squared", 3, seed=3)
    e = explain(net, X[0], T[0], "W0[0,0]", max_paths=10_000)
    assert e.num_paths == 4 * 4 * 3 * 3 == len(e.paths)          # widths above, softmax K²
    assert len(set(e.path_nodes)) == e.num_paths
    short = explain(net, X[0], T[0], "W0[0,0]")
    assert short.paths == () and short.num_paths == 144
    assert abs(short.gradient - e.path_sum) <= 1e-12
    assert "accumulated form" in str(short) and "more than 64" in str(short)


def test_logit_losses_end_at_the_logit():
    """bce and ce are differentiated from the logits, ∂l/∂z = y − t, as the engines do."""
    net, X, T = make_case("sigmoid", "sigmoid", "bce", 1, seed=4)
    e = explain(net, X[0], T[0], "W1[1,2]")
    assert e.path_nodes == [("W1[1,2]", "k2[1]", "loss")]
    y, t = e.y[1], T[0][1]
    assert e.factors[0].value == pytest.approx(y - t, abs=1e-15)
    net, X, T = make_case("sigmoid", "softmax", "ce", 1, seed=4)
    e = explain(net, X[0], int(T[0]), "b1[0]")
    assert e.num_paths == 1 and e.factors[0].formula.endswith("− 1" if T[0] == 0 else "− 0")


def test_softmax_has_a_path_through_every_output():
    net, X, T = make_case("relu", "softmax", "squared", 1, seed=5)
    e = explain(net, X[0], T[0], "b1[1]")
    assert e.num_paths == 3 and e.branch == "k2[1]"
    y = e.y
    jac = [p.factors[1].value for p in e.paths]          # ∂y_j/∂z₂ = y_j(δ_j2 − y₂)
    assert jac == pytest.approx([y[j] * ((j == 1) - y[1]) for j in range(3)], abs=1e-15)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("weight", ["zz", "W5[0,0]", "W0[9,0]", "b0[3]", "w99", "w31", "v4",
                                    "b0", "c1,2", 13, -1, 3.5, None])
def test_bad_weight_names_list_the_valid_ones(weight):
    net, x, t = lecture_network()
    with pytest.raises(ValueError, match="valid names") as info:
        explain(net, x, t, weight)
    assert "W0[0,0] … W0[2,1]" in str(info.value) and "w11 … w23" in str(info.value)


def test_lecture_names_need_one_hidden_layer_and_named_outputs():
    deep = MLP([2, 3, 3, 1], seed=0)
    with pytest.raises(ValueError, match="one hidden layer.*valid names.*W2\\[0,0\\]"):
        explain(deep, [1.0, 2.0], [0.0], "w12")
    several = MLP([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="2 outputs.*v21"):
        explain(several, [1.0, 2.0], [0.0, 1.0], "v2")
    with pytest.raises(ValueError, match="2 outputs.*c1 … c2"):
        explain(several, [1.0, 2.0], [0.0, 1.0], "c")
    wide = MLP([12, 12, 1], seed=0)
    with pytest.raises(ValueError, match="ambiguous.*w1,12 or w11,2"):
        explain(wide, np.ones(12), [0.0], "w112")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_parameters_that_are_not_finite_are_refused(bad):
    net, x, t = lecture_network()
    net.params[[1, 7]] = bad
    before = net.params.copy()
    with pytest.raises(ValueError, match=rf"net: parameter W0\[0,1\] is {bad} \(and 1 more "
                                         r"are not finite\); explain needs finite parameters"):
        explain(net, x, t, "w12")
    assert np.array_equal(net.params, before, equal_nan=True)


def test_bad_examples_are_refused_and_leave_the_network_unchanged():
    net, x, t = lecture_network()
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"x: a single example must have shape \(2,\)"):
        explain(net, [1.0, 2.0, 3.0], t, "w12")
    with pytest.raises(ValueError, match="x: explain takes one example"):
        explain(net, np.ones((2, 2)), t, "w12")
    with pytest.raises(ValueError, match="x: contains NaN"):
        explain(net, [np.nan, 1.0], t, "w12")
    with pytest.raises(ValueError, match="t: expected shape"):
        explain(net, x, [1.0, 2.0], "w12")
    with pytest.raises(ValueError, match="eps"):
        explain(net, x, t, "w12", eps=0.0)
    with pytest.raises(ValueError, match="max_paths"):
        explain(net, x, t, "w12", max_paths=0)
    with pytest.raises(ValueError, match="net"):
        explain("net", x, t, "w12")
    assert np.array_equal(net.params, before)
    e = explain(net, x[None], t, "w12")                    # a batch of one is one example
    assert e.gradient == pytest.approx(-0.0792, abs=1e-12)
    assert np.array_equal(net.params, before)              # restored after the differences
