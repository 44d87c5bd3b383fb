"""Random architectures, weights and batches: the engines agree and pass finite differences."""

import numpy as np
from cases import HEADS, HIDDEN
from hypothesis import given, settings
from hypothesis import strategies as st

from scalarprop import MLP, check_gradients, compare_engines
from scalarprop.commands.options import random_targets


@st.composite
def cases(draw):
    hidden = draw(st.sampled_from(HIDDEN))
    output, loss = draw(st.sampled_from(HEADS))
    depth = draw(st.integers(0, 3))
    widths = draw(st.lists(st.integers(1, 8), min_size=depth, max_size=depth))
    d = draw(st.integers(1, 8))
    K = 1 if loss == "hinge" else draw(st.integers(2 if output == "softmax" else 1, 8))
    n = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 3.0]))
    rng = np.random.default_rng(seed)
    net = MLP([d, *widths, K], hidden, output, loss, seed=seed)
    net.params[:] = rng.normal(scale=scale, size=net.num_params)
    X = rng.normal(scale=scale, size=(n, d))
    return net, X, random_targets(net, n, rng)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_engines_agree_on_random_networks(case):
    net, X, T = case
    cmp = compare_engines(net, X, T)
    assert cmp.ok(1e-12), str(cmp)


@settings(max_examples=40, deadline=None)
@given(cases())
def test_random_networks_pass_finite_differences(case):
    net, X, T = case
    result = check_gradients(net, X, T, engine="scalar")
    assert result.ok, str(result)
