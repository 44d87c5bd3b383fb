"""The fast backward walk (engine.backward_reusing_buffers) against the plain walk of slide
104 (graph.backward): the same gradient in every node, on graphs that reach each of its
branches (a buffer an op computes into, a buffer filled by a copy, a node used twice by one op,
sums the walk owns, an unused output)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from cases import HEADS, HIDDEN, Split, make_case

from scalarprop.autodiff import AutodiffMLP, TensorNode, all_nodes, linear
from scalarprop.engines.autodiff.engine import backward_reusing_buffers
from scalarprop.validate import check_batch

rng = np.random.default_rng(0)


def both_walks(build):
    """Build the graph twice from the same numbers, walk it plainly and fast, and return
    every node's gradient from each walk."""
    grads = []
    for walk in ("plain", "fast"):
        loss = build()
        if walk == "plain":
            loss.backward()
        else:
            backward_reusing_buffers(loss)
        grads.append([n.grad.copy() for n in all_nodes(loss) if n.requires_grad])
    return grads


def assert_same(build):
    plain, fast = both_walks(build)
    assert len(plain) == len(fast) > 0
    for a, b in zip(plain, fast):
        np.testing.assert_allclose(b, a, rtol=1e-14, atol=0)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("hidden,output,loss", [(h, o, l) for h in HIDDEN for o, l in HEADS])
def test_the_mlp_graph(hidden, output, loss, fused):
    net, X, T = make_case(hidden, output, loss, 2, seed=3)
    Xc, Tc = check_batch(net, X, T)

    def build():
        model = AutodiffMLP(net)
        model.grads_into(np.empty(net.num_params))
        if fused:       # the dense and loss ops of the engine's graph
            return model.fused_loss(TensorNode(Xc, requires_grad=False), Tc, reuse=True)
        return model.loss(X, T)

    assert_same(build)


def test_a_node_used_twice_by_one_op_and_by_several_ops():
    a0, W0, x = rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=(4, 3))

    def build():
        a, W = TensorNode(a0, name="a"), TensorNode(W0, name="W")
        W.grad_out = np.empty((3, 3))           # a buffer the linear op computes into
        a.grad_out = np.empty(3)                # a buffer filled by a copy, then added into
        k = linear(x, W, a)
        return (a * a).sum() + (k * k).sum() + (a * 2.0).sum() + (W * W).sum() + a.exp().sum()

    assert_same(build)


def test_an_unused_output_and_a_shared_gradient():
    x0 = rng.normal(size=5)

    def build():
        x = TensorNode(x0)
        a, b = Split.apply(x)
        c = a + a                               # add's backward hands one g to both inputs
        return (c * a).sum()

    assert_same(build)


def test_the_fast_walk_computes_into_the_buffers_and_accumulates_across_passes():
    W, b = TensorNode(rng.normal(size=(4, 3))), TensorNode(rng.normal(size=4))
    Wbuf, bbuf = np.empty((4, 3)), np.empty(4)
    W.grad_out, b.grad_out = Wbuf, bbuf
    x = rng.normal(size=(5, 3))
    k = linear(x, W, b)
    backward_reusing_buffers((k * k).sum() + (W * W).sum())
    assert W.grad is Wbuf and b.grad is bbuf
    np.testing.assert_allclose(Wbuf, (2 * k.value).T @ x + 2 * W.value, rtol=1e-13)
    first = Wbuf.copy()
    backward_reusing_buffers((k * k).sum() + (W * W).sum())     # a second pass adds up
    np.testing.assert_allclose(W.grad, 2 * first, rtol=1e-14)
    np.testing.assert_array_equal(Wbuf, first)                   # a new array, not in place


def test_the_fast_walk_refuses_what_the_plain_walk_refuses():
    with pytest.raises(ValueError, match="scalar loss"):
        backward_reusing_buffers(TensorNode(np.ones(3)))


def test_the_readme_quotes_the_benchmark():
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("autodiff_walks",
                                                  root / "benchmarks" / "autodiff_walks.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = json.loads((root / "benchmarks" / "autodiff_walks.json").read_text())
    assert [p["path"] for p in result["paths"]] == ["AVX-512", "AVX2 (forced)"]
    text = (root / "README.md").read_text(encoding="utf-8")
    section = text[text.index("<!-- section:autodiff -->"):
                   text.index("<!-- /section:autodiff -->")]
    assert bench.cost_bullet(result) in " ".join(section.split())
