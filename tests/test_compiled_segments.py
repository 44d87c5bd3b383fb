"""The tape in segments (engines/compiled/segments.py): a layer's activations walked as one
loop, against the plain walks of tape.py, and where a stretch must not be one."""

import numpy as np

import scalarprop.compiled as spc
from scalarprop.engines.compiled import fused, ops, segments, tape


def layers(w, x):
    """A tanh layer, a sigmoid layer over it, a relu pair (too short for a segment), and a
    chain of sigmoids at the end (each reads the slot just before its own)."""
    h = [spc.dot(w[4 * j:4 * j + 4], x).tanh() for j in range(5)]
    s = [(w[20 + j] * h[j]).sigmoid() for j in range(5)]
    r = [(w[25] * s[1]).relu(), (w[26] * s[2]).relu()]
    y = (sum(s[1:], s[0]) + r[0] * r[1] - 1.0) ** 2
    for _ in range(4):
        y = y.sigmoid()
    return y


def compiled():
    cf = spc.compile(layers, 27, 4)
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=27), rng.normal(size=4)
    v = cf.values(cf.check_args((w, x), ()))
    return cf, cf.program, v, cf.need((0,))


def test_segments_cover_the_tape_and_keep_chains_apart():
    cf, p, v, need = compiled()
    seg = segments.segments(p.ins, p.cst, p.first, need)
    assert seg[0, 0] == 0 and seg[-1, 1] == p.num_ops
    assert (seg[1:, 0] == seg[:-1, 1]).all()              # in order, no gap
    vector = [(int(k1 - k0), ops.NAMES[int(op)]) for k0, k1, op in seg if op >= 0]
    assert vector == [(5, "tanh"), (5, "sigmoid")]        # not the chain, not the pair
    chain = [k for k in range(p.num_ops) if p.ins[k, 0] == ops.SIGMOID
             and p.ins[k, 1] == p.first + k - 1]
    assert len(chain) == 4                                # consecutive, yet each alone
    assert all(op == -1 for k0, k1, op in seg for k in chain if k0 <= k < k1)


def test_nothing_unneeded_is_a_segment():
    cf, p, v, _ = compiled()
    need = cf.need((1,)).copy()          # x: the tanh layer depends on it...
    need[p.first:] = False               # ...but say no op does
    assert (segments.segments(p.ins, p.cst, p.first, need)[:, 2] == -1).all()


def test_segmented_walks_equal_the_plain_walks():
    cf, p, v, need = compiled()
    seg = segments.segments(p.ins, p.cst, p.first, need)
    plain, walked = v.copy(), v.copy()
    tape.forward(p.ins, p.cst, p.runs, p.first, plain)
    segments.forward(p.ins, p.cst, p.runs, p.first, walked, seg)
    np.testing.assert_allclose(walked, plain, rtol=1e-15, atol=0)
    out = int(p.outputs[0])
    g_plain, g_walked = np.zeros(p.num_slots), np.zeros(p.num_slots)
    g_plain[out] = g_walked[out] = 1.0
    tape.backward(p.ins, p.cst, p.runs, p.first, plain, g_plain, need)
    # lr = 0: the update walk changes no parameter and leaves the gradients of the ops
    no = np.zeros(0)
    look = np.full(len(p.runs), -1)
    act = fused.actions(p.runs, p.first, need, look)
    fused.backward_update(p.ins, p.cst, p.runs, act, p.first, walked, g_walked, need, 0.0,
                          look, no, no, no, seg)
    np.testing.assert_allclose(g_walked[p.first:], g_plain[p.first:], rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(walked[:p.first], v[:p.first])


def test_layers_of_dots_are_segments_and_train_as_the_scalar_engine():
    # runs of 5 and of 6 (short: indexed), of 12 (long): the fused epoch, two DOT layers
    from scalarprop import MLP
    from scalarprop.engines import scalar
    from scalarprop.engines.compiled import training
    from scalarprop.engines.compiled.mlp import mlp_loss
    sizes = (5, 6, 12, 2)
    net = MLP(sizes, hidden="relu", seed=7)
    cf = spc.compile(mlp_loss(sizes, "relu"), net.num_params, 5, 2)
    look, _ = training.fused_plan(cf, (0,), (1, 2))
    seg, _ = training.walk_segments(cf, (0,), (1, 2), look)
    layers = [(int(k1 - k0), ops.NAMES[int(op)]) for k0, k1, op in seg if op >= 0]
    assert layers == [(6, "dot"), (6, "relu"), (12, "dot"), (12, "relu")]
    rng = np.random.default_rng(8)
    X, T = rng.normal(size=(17, 5)), rng.normal(size=(17, 2))
    w = net.params.copy()
    losses = cf.sgd_epoch(w, X, T, lr=0.02, batched=(1, 2))
    ref = np.zeros(17)
    scalar.lecture_epoch(net, X, T, np.arange(17), 1, 0.02, ref)
    np.testing.assert_allclose(w, net.params, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(losses, ref, rtol=1e-12)


def chained(w, x):
    """Units of one shape, each reading the one before: u = w·(u_prev, x[1])."""
    u = x[0]
    for j in range(6):
        u = w[2 * j] * u + w[2 * j + 1] * x[1]
    return u * u


def test_a_chain_of_like_dots_is_not_a_layer():
    cf = spc.compile(chained, 12, 2)
    p, need = cf.program, cf.need((0,))
    act = fused.actions(p.runs, p.first, need, np.full(len(p.runs), -1))
    shapes = {tuple(segments.layer_shape(p.ins, p.runs, act, k))
              for k in range(1, 6)}
    assert len(shapes) == 1                                 # alike, consecutive...
    seg = segments.segments(p.ins, p.cst, p.first, need, p.runs, act)
    assert (seg[:, 2] != ops.DOT).all()                     # ...yet each reads the last
    assert not segments.reads_below(p.ins, p.runs, 2, p.first + 1)
