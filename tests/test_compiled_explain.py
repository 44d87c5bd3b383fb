"""cf.explain: the chain of local derivatives of a compiled function, against the analytic
derivative, the compiled backward pass, the scalar engine and finite differences."""

import json
import math

import numpy as np
import pytest

import scalarprop as sp
from scalarprop import MLP
from scalarprop.engines import scalar
from scalarprop.engines.compiled.mlp import mlp_loss


def lecture_f(x):
    return 2 / (-x[0]).exp().sin()


def test_the_lecture_function_is_one_path_of_four_local_derivatives():
    x = -math.log(57 * math.pi / 2)          # the slide's -4.499, made exact: sin b = 1
    e = sp.compile(lecture_f, 1).explain([x])
    assert e.num_paths == 1 and len(e.paths[0]) == 5          # x, a, b, c, d
    a = -x
    b = math.exp(a)
    c = math.sin(b)
    # slide 36: -2/c² · cos b · e^a · -1, factor by factor, from the output down
    expected = {"∂d/∂c": -2 / c**2, "∂c/∂b": math.cos(b), "∂b/∂a": math.exp(a),
                "∂a/∂x[0]": -1.0}
    got = {f.symbol.text: f.value for f in e.locals}
    assert got.keys() == expected.keys()
    for k in expected:
        assert got[k] == pytest.approx(expected[k], rel=1e-12, abs=1e-12)
    assert e.path_sum == pytest.approx(e.gradient, rel=1e-12, abs=1e-12)
    text = str(e)
    assert "∂d/∂c · ∂c/∂b · ∂b/∂a · ∂a/∂x[0]" in text and "cos b" in text
    assert "$$" in e.to_markdown()


def shared(x):
    a = x[0] * x[1]
    return (a + x[0]).sin() * a


def test_every_path_and_their_sum():
    e = sp.compile(shared, 2).explain([0.3, -0.7], input="x[0]")
    assert e.num_paths == 3 and len(e.paths) == 3
    assert e.path_sum == pytest.approx(e.gradient, rel=1e-14)
    assert e.finite_difference == pytest.approx(e.gradient, rel=1e-7)
    json.dumps(e.to_dict())
    # the other input reaches the output by two paths
    assert sp.compile(shared, 2).explain([0.3, -0.7], input=(0, 1)).num_paths == 2


def test_beyond_64_paths_the_accumulated_form():
    def doubling(x):
        y = x[0]
        for _ in range(7):                   # each step doubles the paths: 128
            y = y + (y * 0.5).sin()
        return y

    e = sp.compile(doubling, 1).explain([0.4])
    assert e.num_paths == 128 and e.paths == [] and e.accumulated
    assert e.accumulated[-1][1] == pytest.approx(e.gradient, rel=1e-14)   # ∂y/∂x last
    assert e.finite_difference == pytest.approx(e.gradient, rel=1e-7)
    assert "accumulated form" in str(e)


def test_a_weight_of_the_lecture_mlp_against_the_scalar_engine():
    sizes = (3, 4, 2)
    net = MLP(sizes, hidden="sigmoid", output="identity", loss="squared", seed=3)
    x, t = np.array([0.5, -1.0, 2.0]), np.array([0.2, -0.3])
    cf = sp.compile(mlp_loss(sizes), net.num_params, 3, 2)
    _, ref = scalar.loss_and_grad(net, x[None], t[None])
    for index in (0, 13, net.num_params - 1):
        e = cf.explain(net.params, x, t, input=index)
        assert e.path_sum == pytest.approx(ref[index], rel=1e-12, abs=1e-15)


def test_an_unused_input_and_bad_inputs():
    cf = sp.compile(lambda x: x[1] * 2.0, 2)
    e = cf.explain([1.0, 2.0], input=0)
    assert e.num_paths == 0 and e.gradient == 0.0 and "does not depend" in str(e)
    for bad in (5, (1, 0), "y[0]", 1.5):
        with pytest.raises(ValueError, match="input"):
            cf.explain([1.0, 2.0], input=bad)
