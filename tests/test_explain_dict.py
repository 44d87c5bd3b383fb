"""Explanation.to_dict(): the derivation as plain JSON, held to the lecture's numbers
(slides 41-45), the engines and finite differences; and the one node-id scheme that explain,
draw and the engines' ``nodes`` share."""

import json
import re

import numpy as np
import pytest
from cases import HEADS, HIDDEN, make_case

from scalarprop import MLP, explain
from scalarprop.engines import ENGINE_NAMES, get_engine
from scalarprop.examples import lecture_network
from scalarprop.explain import node_symbol


def lecture_w12() -> dict:
    net, x, t = lecture_network()
    return explain(net, x, t, "W0[1,0]").to_dict()


def test_w12_chain_has_the_lectures_four_factors():
    d = lecture_w12()
    assert d["weight"] == "W0[1,0]" and d["lecture_name"] == "w12" and d["symbol"] == "w₁₂"
    factors = d["factors"]
    # slide 44: 2(10.1 − 12.1) · v₂ · h₂(1 − h₂) · x₁ = (−4)(−2)(0.0099)(−1) = −0.0792
    assert [f["value"] for f in factors] == pytest.approx([-4.0, -2.0, 0.0099, -1.0],
                                                          abs=1e-12)
    assert [f["symbol"] for f in factors] == ["∂l/∂y", "∂y/∂h₂", "∂h₂/∂k₂", "∂k₂/∂w₁₂"]
    assert [f["formula"] for f in factors] == ["2(y − t)", "v₂", "h₂(1 − h₂)", "x₁"]
    assert [f["latex_formula"] for f in factors] == ["2(y-t)", "v_{2}", "h_{2}(1-h_{2})",
                                                     "x_{1}"]
    assert factors[0]["latex_symbol"] == r"\frac{\partial l}{\partial y}"
    assert [f["numbers"] for f in factors] == ["2(10.1 − 12.1)", "−2", "0.99(1 − 0.99)", "−1"]
    assert [f["sign"] for f in factors] == [-1, -1, 1, -1]
    assert d["chain"]["product"] == pytest.approx(-0.0792, abs=1e-12)
    assert d["gradient"] == pytest.approx(-0.0792, abs=1e-12)


def test_w12_paths_engines_and_reading():
    d = lecture_w12()
    assert d["num_paths"] == 1 and len(d["paths"]) == 1
    path = d["paths"][0]
    assert path["nodes"] == ["W0[1,0]", "k1[1]", "h1[1]", "k2[0]", "h2[0]", "loss"]
    assert path["value"] == pytest.approx(-0.0792, abs=1e-12)
    assert d["path_sum"] == pytest.approx(-0.0792, abs=1e-12)
    assert d["engines"]["scalar"] == pytest.approx(-0.0792, abs=1e-12)
    assert d["engines"]["vectorized"] == pytest.approx(-0.0792, abs=1e-12)
    assert d["finite_difference"] == pytest.approx(-0.0792, abs=1e-7)
    assert d["update_direction"] == 1 and d["reading"][-1].endswith("w₁₂ increases")
    assert set(d["nodes"]) == set(path["nodes"])
    assert ["h1[1]", "k2[0]"] in d["edges"] and ["x[1]", "k1[1]"] not in d["edges"]
    assert d["node_values"]["h1[1]"] == pytest.approx(0.99, abs=1e-15)
    assert d["node_values"]["h2[0]"] == pytest.approx(10.1, abs=1e-13)
    assert d["node_grads"]["h2[0]"] == pytest.approx(-4.0, abs=1e-12)


def test_the_text_is_what_str_prints_and_json_round_trips():
    net, x, t = lecture_network()
    e = explain(net, x, t, "w12")
    d = e.to_dict()
    assert d["text"] == str(e) and "= −0.0792" in d["text"]
    assert d["markdown"] == e.to_markdown()
    assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_too_many_paths_give_the_accumulated_form():
    net = MLP([3, 5, 5, 2], hidden="tanh", seed=4)
    x, t = np.array([0.3, -0.7, 1.1]), np.array([0.2, -0.4])
    e = explain(net, x, t, "W0[2,1]", max_paths=4)
    d = e.to_dict()
    assert d["num_paths"] == 10 and d["paths"] == [] and d["path_sum"] is None
    last = d["accumulated"][-1]
    _, grad = get_engine("vectorized").loss_and_grad(net, x[None], t[None])
    assert last["values"] == pytest.approx([grad[net.param_index("W0[2,1]")]], abs=1e-12)
    assert last["latex_symbol"] and last["nodes"] == ["W0[2,1]"]
    # the edges still say which nodes to highlight: unit 2 of layer 1, every unit above
    assert {"k1[2]", "h1[2]", "k2[0]", "k2[4]", "h3[1]", "loss"} <= set(d["nodes"])
    assert "h1[0]" not in d["nodes"]
    json.dumps(d, allow_nan=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_not_finite_numbers_become_null():
    net = MLP([2, 2, 1], hidden="identity", seed=0)
    e = explain(net, [1e200, 1e200], [0.0], "W0[0,0]")     # y ≈ 1e200: y² overflows
    assert e.loss == np.inf and np.isnan(e.finite_difference)
    d = e.to_dict()
    json.dumps(d, allow_nan=False)                      # would raise on a NaN or inf
    assert d["loss"] is None and d["finite_difference"] is None and d["gradient"] is None


_ID = re.compile(r"([kh]\d+|x|t)\[(\d+)\]")


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@pytest.mark.parametrize("output,loss", [("identity", "squared"), ("softmax", "ce"),
                                         ("sigmoid", "bce")])
def test_one_node_id_scheme_for_explain_and_the_engines(engine, output, loss):
    """Node ``"h1[2]"`` is ``nodes(net, X, T)["h1"][0, 2]`` in every engine."""
    net = MLP([3, 4, 3, 2], hidden="tanh", output=output, loss=loss, seed=1)
    x = np.array([0.5, -1.0, 2.0])
    t = [1] if loss == "ce" else [1.0, 0.0]
    e = explain(net, x, t, "W1[2,1]")
    nodes = get_engine(engine).nodes(net, x[None], np.atleast_2d(t) if loss != "ce" else t)
    assert e.node_values["loss"] == pytest.approx(nodes["loss"], rel=1e-12)
    for node, value in e.node_values.items():
        m = _ID.fullmatch(node)
        if node == "loss":
            continue
        assert m, node
        layer, j = m.group(1), int(m.group(2))
        if layer in ("x", "t"):
            continue
        assert value == pytest.approx(nodes[layer][0, j], rel=1e-12, abs=1e-15), node
        if node in e.node_grads:
            assert e.node_grads[node] == pytest.approx(nodes[f"{layer}_grad"][0, j],
                                                       rel=1e-9, abs=1e-12), node
    # every node on a path is one of those ids, or the parameter
    for path in e.path_nodes:
        assert all(n in e.node_values or n == e.weight for n in path), path


def test_the_old_output_id_is_not_an_id():
    net, _, _ = lecture_network()
    assert node_symbol(net, "h2[0]") == "y" and node_symbol(net, "k1[1]") == "k₂"
    for bad in ("y[0]", "l", "k[1]", "h1"):
        with pytest.raises(ValueError, match="not a unit's identifier"):
            node_symbol(net, bad)


def _evaluate(numbers: str) -> float:
    """A factor's numbers as Python: −→-, ·→*, ²→**2, [P]→(P), implicit products."""
    s = numbers.replace("−", "-").replace("·", "*").replace("²", "**2")
    s = s.replace("[", "(").replace("]", ")")
    s = re.sub(r"([\d)])\(", r"\1*(", s)
    return float(eval(s, {"sign": np.sign}))             # noqa: S307 (our own text)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output,loss", HEADS)
def test_each_factor_with_its_numbers_reads_its_value(hidden, output, loss):
    """The formula written once and filled with numbers says what the value is: the
    numbers of every local derivative, evaluated, give the factor's value (to the 6 digits
    printed)."""
    net, X, T = make_case(hidden, output, loss, 1, seed=11)
    t = int(T[0]) if loss == "ce" else T[0]
    seen = set()
    for q in range(net.num_params):
        e = explain(net, X[0], t, q)
        for f in (f for p in e.paths for f in p.factors):
            if f.kind == "accumulated":
                continue
            seen.add(f.kind)
            assert _evaluate(f.numbers) == pytest.approx(f.value, rel=2e-5, abs=1e-6), \
                (f.symbol, f.numbers, f.value)
    assert {"loss", "weight", "input", "bias"} <= seen
