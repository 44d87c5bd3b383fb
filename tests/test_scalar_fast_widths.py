"""Every branch of the fast kernels, held to the lecture kernel within 1e-12.

scalar_fast's row loops take a SIMD path (slices, two rows of W at a time) when a layer has
at least LONG_ROW = 16 inputs, and a one-row tail when the layer's output count is odd. The
networks below feed layers with 16, 17, 31, 33 and 64 inputs (at the input, where the first
layer's update is fused with the next example's forward, and at hidden layers, where the
forward rows and the fused backward-update run), with odd and even output counts and depths
1-3. The oracle: the lecture kernel (engines/scalar.py), loop for loop the pseudocode.
"""

import numpy as np
import pytest

from scalarprop import MLP, scalar, scalar_fast
from scalarprop.commands.options import random_targets
from scalarprop.engines import scalar_parallel
from scalarprop.engines.scalar_fast import LONG_ROW
from scalarprop.memory import aligned_copy
from scalarprop.validate import check_batch

WIDE = (16, 17, 31, 33, 64)
SIZES = [
    # depth 1: the fused first-layer update with every long width, odd and even outputs
    (16, 3), (17, 1), (31, 2), (33, 5), (64, 7),
    # depth 2: long rows into the hidden layer and out of it
    (17, 16, 3), (16, 33, 1), (33, 31, 2), (64, 17, 3), (5, 64, 9), (31, 64, 4),
    # depth 3: long hidden rows, odd and even, between short and long layers
    (31, 17, 64, 3), (16, 33, 16, 1), (64, 31, 17, 5), (3, 16, 17, 2), (2, 33, 3, 6),
]
HEADS = [("identity", "squared"), ("softmax", "ce"), ("sigmoid", "bce"),
         ("identity", "hinge")]


def case(sizes, head, hidden="tanh", n=24, seed=0):
    output, loss = head
    if loss == "hinge" and sizes[-1] != 1:
        loss, output = "absolute", "identity"
    if output == "softmax" and sizes[-1] < 2:
        output, loss = "sigmoid", "bce"
    net = MLP(list(sizes), hidden, output, loss, seed=seed)
    rng = np.random.default_rng(seed)
    net.params[:] += rng.normal(scale=0.05, size=net.num_params)
    X = rng.normal(size=(n, sizes[0]))
    T = random_targets(net, n, rng)
    return (net, *check_batch(net, X, T))


def test_the_cases_reach_every_branch():
    # every long width feeds a layer at the input and at a hidden layer, odd and even outputs
    inputs = {s[0] for s in SIZES}
    hidden_inputs = {w for s in SIZES for w in s[1:-1]}
    assert set(WIDE) <= inputs and set(WIDE) <= hidden_inputs
    assert min(WIDE) == LONG_ROW
    fed = [(s[l], s[l + 1]) for s in SIZES for l in range(len(s) - 1)]
    assert any(n_in >= LONG_ROW and n_out % 2 for n_in, n_out in fed)
    assert any(n_in >= LONG_ROW and n_out % 2 == 0 for n_in, n_out in fed)
    assert any(n_in < LONG_ROW for n_in, _ in fed)
    assert {len(s) - 1 for s in SIZES} == {1, 2, 3}
    # the fused kernel's own leaf for an identity output with the squared loss, and the rest
    assert ("identity", "squared") in HEADS and len(HEADS) > 1


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("head", HEADS, ids=lambda h: h[1])
def test_fused_sgd_epoch_equals_the_lecture_kernel(sizes, head):
    net, X, T = case(sizes, head, hidden="tanh" if len(sizes) % 2 else "sigmoid")
    order = np.random.default_rng(1).permutation(len(X))
    a, b = net.copy(), net.copy()
    la, lb = np.empty(len(X)), np.empty(len(X))
    assert scalar.lecture_epoch(a, X, T, order, 1, 0.05, la) == -1
    assert scalar_fast.sgd_epoch(b, aligned_copy(X), T, order, 0.05, lb) == -1
    assert not np.allclose(a.params, net.params)        # the epoch moved the parameters
    scale = max(1.0, np.abs(a.params).max())
    assert np.abs(a.params - b.params).max() <= 1e-12 * scale
    np.testing.assert_allclose(lb, la, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("sizes", SIZES[::2], ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("chunks", [1, 2, 5])
def test_parallel_minibatch_gradient_equals_the_lecture_kernel(sizes, chunks):
    net, X, T = case(sizes, ("softmax", "ce"), hidden="sigmoid", n=13)
    l1, g1 = scalar.loss_and_grad(net, X, T)
    l2, g2 = scalar_parallel.loss_and_grad_parallel(net, X, T, chunks=chunks)
    assert l2 == pytest.approx(l1, rel=1e-12, abs=1e-14)
    assert np.abs(g1 - g2).max() <= 1e-12 * max(1.0, np.abs(g1).max())
