"""The kept graph (engines/autodiff/tape.py) against graphs built afresh: run again on new
numbers, every node holds the value and, walked, the gradient that a new graph and the plain
walk of slide 104 give; with the step folded in, the parameters that the plain walk followed
by ``θ ← θ − α θ∇`` gives. The graphs reach each branch of the tape's walk: a sum it makes and
one it adds into, an unused output, a step an op takes and one the walk takes."""

import numpy as np
import pytest
from cases import HEADS, HIDDEN, Split, make_case

from scalarprop.autodiff import AutodiffMLP, Op, TensorNode, all_nodes, linear
from scalarprop.engines import get_engine
from scalarprop.engines.autodiff.fused import dense
from scalarprop.engines.autodiff.tape import Tape
from scalarprop.validate import check_batch

rng = np.random.default_rng(4)


def values_and_grads(loss):
    nodes = all_nodes(loss)
    return ([n.value.copy() for n in nodes],
            [n.grad.copy() if n.requires_grad else None for n in nodes])


def assert_tape_is_a_new_graph(build, runs):
    """``build(*leaves)`` makes the loss from constant leaves holding ``runs[0]``; the tape
    made from it is run on each later entry of ``runs`` and compared with a new graph built
    on it and walked plainly."""
    leaves = [TensorNode(v, requires_grad=False) for v in runs[0]]
    tape = Tape(build(*leaves), leaves)
    for values in runs[1:]:
        tape.forward(*values)
        tape.backward()
        got = values_and_grads(tape.loss)
        fresh = build(*[TensorNode(v, requires_grad=False) for v in values])
        fresh.backward()
        expected = values_and_grads(fresh)
        assert len(got[0]) == len(expected[0]) > 2
        for a, b in zip(got[0] + got[1], expected[0] + expected[1]):
            if b is None:
                assert a is None
            else:
                np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)


def test_a_node_used_twice_by_one_op_and_by_several_ops():
    a0, W0 = rng.normal(size=3), rng.normal(size=(3, 3))

    def build(x):
        a, W = TensorNode(a0, name="a"), TensorNode(W0, name="W")
        k = linear(x, W, a)
        # a: two gradients from one op, then three more (a sum, then adds into it)
        return (a * a).sum() + (k * k).sum() + (a * 2.0).sum() + (W * W).sum() + a.exp().sum()

    assert_tape_is_a_new_graph(build, [(rng.normal(size=(4, 3)),) for _ in range(3)])


def test_an_unused_output_and_a_shared_gradient():
    p0 = rng.normal(size=5)

    def build(x):
        a, _ = Split.apply(x * TensorNode(p0))  # the second output is dropped
        c = a + a                               # add's backward hands one g to both inputs
        return (c * a).sum()

    assert_tape_is_a_new_graph(build, [(rng.normal(size=5),) for _ in range(3)])


@pytest.mark.parametrize("hidden,output,loss", [(h, o, l) for h in HIDDEN for o, l in HEADS])
def test_the_engines_graph_on_new_batches(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 2, seed=8, n=12)
    Xc, Tc = check_batch(net, X, T)

    def build(x, t):
        # a model per graph: each has its own buffers, so no graph overwrites another's
        return AutodiffMLP(net).fused_loss(x, t, reuse=True)

    runs = [(Xc[i:i + 4], Tc[i:i + 4]) for i in (0, 4, 8)]
    assert_tape_is_a_new_graph(build, runs)


@pytest.mark.parametrize("hidden,output,loss", [(h, o, l) for h in HIDDEN for o, l in HEADS])
def test_a_tape_run_on_a_new_batch_is_the_vectorized_engine_node_by_node(hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 2, seed=9, n=10)
    Xc, Tc = check_batch(net, X, T)
    model = AutodiffMLP(net)
    x, t = TensorNode(Xc[:5], requires_grad=False), TensorNode(Tc[:5], requires_grad=False)
    tape = Tape(model.fused_loss(x, t, reuse=True), (x, t))
    tape.forward(Xc[5:], Tc[5:])
    tape.backward()
    expected = get_engine("vectorized").nodes(net, Xc[5:], Tc[5:])
    layers = [op for op in tape.ops if op.op.name == "dense"]
    L = len(layers)
    for l, op in enumerate(layers, start=1):
        # a dense op's output is h; the last one's is k when the activation is left to the
        # loss (bce, ce) or to a softmax op
        node = "h" if l < L or op.constants["activation"] != "identity" else "k"
        if l == L and output == "identity":
            node = "h"
        out = op.outputs[0]
        np.testing.assert_allclose(out.value, expected[f"{node}{l}"], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(out.grad, expected[f"{node}{l}_grad"], rtol=1e-12,
                                   atol=1e-13)
    assert float(tape.loss.value) == pytest.approx(expected["loss"], rel=1e-12, abs=1e-13)
    np.testing.assert_allclose(model.flat_grad(), expected["grad"], rtol=1e-12, atol=1e-13)


def test_the_step_taken_by_the_ops_and_by_the_walk():
    W0, b0, F0 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4))
    lr = 0.05

    def build(x, params):
        W, b, F = params
        h = dense(x, W, b, "sigmoid")           # W: used by dense alone, which steps it
        z = dense(h, F, b[:2], "identity")      # b is used twice: the walk steps it
        return (z * z).sum() + (b * b).sum()    # F is not in one block: the walk steps it

    def new_params():
        return [TensorNode(W0.copy()), TensorNode(b0.copy()),
                TensorNode(np.asfortranarray(F0.copy()))]

    batches = [rng.normal(size=(5, 3)) for _ in range(4)]
    taped, plain = new_params(), new_params()
    x = TensorNode(batches[0], requires_grad=False)
    tape = Tape(build(x, taped), [x], step=taped, lr=lr)
    for s, batch in enumerate(batches):
        if s > 0:
            tape.forward(batch)
        tape.backward()
        loss = build(TensorNode(batch, requires_grad=False), plain)
        assert float(tape.loss.value) == pytest.approx(float(loss.value), rel=1e-14)
        loss.backward()
        for p in plain:
            p.value -= lr * p.grad
            p.grad = None
        for a, b in zip(taped, plain):
            assert not a.has_grad
            np.testing.assert_allclose(a.value, b.value, rtol=1e-13, atol=1e-15)


class WrongShape(Op):
    """A backward that returns a gradient of the wrong shape."""

    name = "wrong"

    @staticmethod
    def forward(context, x):
        return 2.0 * x

    @staticmethod
    def backward(context, g):
        return np.zeros(g.shape[0] + 1)


def test_the_first_run_checks_each_backward():
    x = TensorNode(np.ones(3))
    tape = Tape(WrongShape.apply(x).sum(), [])
    with pytest.raises(RuntimeError, match="wrong.backward returned a gradient of shape"):
        tape.backward()


def test_a_tape_refuses_what_the_walks_refuse():
    with pytest.raises(ValueError, match="scalar loss"):
        Tape(TensorNode(np.ones(3)), [])


def test_a_tape_refuses_new_inputs_of_another_shape():
    # the compiled passes read their inputs over the shapes the graph was built with, and
    # Numba checks no bounds: a shorter batch or fewer targets would read past the arrays
    net, X, T = make_case("sigmoid", "identity", "squared", 2, seed=3, n=8)
    Xc, Tc = check_batch(net, X, T)
    x, t = TensorNode(Xc[:4], requires_grad=False), TensorNode(Tc[:4], requires_grad=False)
    tape = Tape(AutodiffMLP(net).fused_loss(x, t, reuse=True), (x, t))
    with pytest.raises(ValueError, match=r"input 1 has shape \(3, 2\); the graph was built"):
        tape.forward(Xc[4:], Tc[4:7])
    with pytest.raises(ValueError, match="expected 2 input arrays, got 1"):
        tape.forward(Xc[4:])
    assert float(tape.forward(Xc[4:], Tc[4:])) == pytest.approx(
        get_engine("vectorized").loss(net, Xc[4:], Tc[4:]), rel=1e-12)


def test_the_squared_error_op_refuses_targets_of_another_shape():
    from scalarprop.engines.autodiff.fused import SquaredError

    y = TensorNode(rng.normal(size=(4, 2)))
    with pytest.raises(ValueError, match=r"targets of shape \(3, 2\) for outputs of shape"):
        SquaredError.apply(y, TensorNode(rng.normal(size=(3, 2)), requires_grad=False))
