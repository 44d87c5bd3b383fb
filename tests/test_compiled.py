"""Compiled functions against the oracles: the analytic derivative, the eager Value, the
scalar and autodiff engines, the complex step and finite differences."""

import math

import numpy as np
import pytest

import scalarprop.engines.compiled as spc
from scalarprop import MLP, autodiff, testing
from scalarprop.engines import scalar
from scalarprop.engines.compiled import Value
from scalarprop.engines.compiled.mlp import mlp_loss
from scalarprop.engines.compiled.source import PRELUDE


def lecture_f(x):
    return 2 / (-x[0]).exp().sin()


def lecture_grad(x):
    a = -x
    b = math.exp(a)
    c = math.sin(b)
    return -2 / c**2 * math.cos(b) * math.exp(a) * -1


@pytest.fixture(scope="module")
def cf():
    return spc.compile(lecture_f, 1)


@pytest.mark.parametrize("x", [-4.499, -1.0, 0.3, 1.5])
def test_lecture_function_value_and_gradient(cf, x):
    value, g = cf.grad([x])
    assert value == pytest.approx(2 / math.sin(math.exp(-x)), rel=1e-15)
    exact = lecture_grad(x)
    assert abs(g[0] - exact) <= 1e-13 * max(1.0, abs(exact))
    assert cf([x]) == value
    _, d = cf.jvp([x], [1.0])
    assert abs(d - exact) <= 1e-13 * max(1.0, abs(exact))


def test_lecture_function_is_four_operations(cf):
    # a = -x, b = e^a, c = sin b, d = 2/c: slide 36's operations, nothing more
    assert cf.program.num_ops == 4
    assert "c = sin(b)" in cf.source and "d = 2.0 / c" in cf.source


def test_lecture_function_against_autodiff():
    a = autodiff.TensorNode(np.array(-1.0))
    f = 2 / (-a).exp().sin()
    f.backward()
    _, g = spc.compile(lecture_f, 1).grad([-1.0])
    assert g[0] == pytest.approx(float(a.grad), rel=1e-14)


def every_op(x):
    a, b, c = x
    u = (a * b - c / b + 3.0) ** 2 + (-a).exp() * b.sin() - c.cos()
    u = u + (a * 0.5).tanh() + b.sigmoid() + (a - b).relu() + (c - 0.2).abs()
    u = u + (c * c + 1.0).log() + spc.dot([a, b, c], [c, a, b]) - 2.0 / (1.0 + a * a)
    u = u + abs(a - c) * +b             # Python's abs() and unary + as well as the methods
    return u + spc.where(a > b, a * c, b - c) + spc.where(b <= c, b, c * 2.0)


POINTS = [[0.3, -1.1, 0.7], [-0.8, 0.4, 1.9], [1.2, 1.3, -0.5]]


@pytest.mark.parametrize("x", POINTS)
def test_every_operation_equals_the_eager_value(x):
    cf = spc.compile(every_op, 3)
    value, g = cf.grad(x)
    vs = [Value(xi) for xi in x]
    y = every_op(vs)
    y.backward()
    assert value == pytest.approx(y.data, rel=1e-14)
    np.testing.assert_allclose(g, [v.grad for v in vs], rtol=1e-12, atol=1e-14)
    testing.assert_gradients_close(lambda z: cf(z), x, g, atol=1e-7, rtol=1e-7,
                                   method="richardson")


def smooth(x):
    a, b = x
    return (a * b).sin() / (1.0 + b * b) + (a - b).exp() * a.tanh() + (b * b + 2.0) ** 1.5


def smooth_numpy(z):
    a, b = z[0], z[1]
    return np.sin(a * b) / (1.0 + b * b) + np.exp(a - b) * np.tanh(a) + (b * b + 2.0) ** 1.5


def test_smooth_function_against_the_complex_step():
    x = np.array([0.4, -0.9])
    _, g = spc.compile(smooth, 2).grad(x)
    np.testing.assert_allclose(g, testing.complex_step_gradient(smooth_numpy, x), rtol=1e-13)


def test_jvp_is_the_gradient_along_the_tangent_and_hvp_the_change_of_the_gradient():
    cf = spc.compile(every_op, 3)
    rng = np.random.default_rng(3)
    x = np.array([0.3, -1.1, 0.7])
    for _ in range(3):
        t = rng.normal(size=3)
        _, g = cf.grad(x)
        _, d = cf.jvp(x, t)
        assert d == pytest.approx(g @ t, rel=1e-12)
        _, hv = cf.hvp(x, t)
        numeric = testing.numerical_jacobian(lambda z: cf.grad(z)[1], x,
                                             method="richardson") @ t
        np.testing.assert_allclose(hv, numeric, rtol=1e-6, atol=1e-8)


def test_hvp_against_the_analytic_hessian():
    # f = a² b + b³: H = [[2b, 2a], [2a, 6b]]
    cf = spc.compile(lambda x: x[0] ** 2 * x[1] + x[1] ** 3, 2)
    a, b = 0.7, -1.3
    _, hv = cf.hvp([a, b], [1.0, 2.0])
    np.testing.assert_allclose(hv, [2 * b + 4 * a, 2 * a + 12 * b], rtol=1e-14)


def test_vector_output_vjp_and_jvp_against_the_jacobian():
    def f(x):
        return [x[0] * x[1], x[1].sin() + x[2], (x[0] - x[2]).exp()]

    cf = spc.compile(f, 3)
    x = np.array([0.2, 0.5, -0.3])
    J = testing.numerical_jacobian(lambda z: cf(z), x, method="richardson")
    u = np.array([1.0, -2.0, 0.5])
    values, g = cf.vjp(x, u)
    np.testing.assert_allclose(values, [0.1, math.sin(0.5) - 0.3, math.exp(0.5)], rtol=1e-15)
    np.testing.assert_allclose(g, u @ J, rtol=1e-8)
    _, d = cf.jvp(x, u)
    np.testing.assert_allclose(d, J @ u, rtol=1e-8)


def test_tuple_wrt_gives_one_gradient_per_argument():
    cf = spc.compile(lambda a, b: a[0] * b[0] + a[1] * b[1] ** 2, 2, 2)
    _, (ga, gb) = cf.grad([1.0, 2.0], [3.0, 4.0], wrt=(0, 1))
    np.testing.assert_allclose(ga, [3.0, 16.0])
    np.testing.assert_allclose(gb, [1.0, 16.0])
    _, gb_only = cf.grad([1.0, 2.0], [3.0, 4.0], wrt=1)
    np.testing.assert_allclose(gb_only, gb)


# -- the MLP of slide 54, compiled, against the scalar engine ---------------------------------

PAIRS = [("identity", "squared"), ("sigmoid", "squared"), ("softmax", "squared"),
         ("identity", "absolute"), ("sigmoid", "absolute"), ("softmax", "absolute"),
         ("sigmoid", "bce"), ("softmax", "ce"), ("identity", "hinge")]


def targets(rng, net, n):
    K = net.sizes[-1]
    if net.loss == "ce":
        labels = rng.integers(0, K, size=n)
        return labels.astype(float), np.eye(K)[labels]
    if net.loss == "bce":
        T = rng.integers(0, 2, size=(n, K)).astype(float)
    elif net.loss == "hinge":
        T = rng.choice([-1.0, 1.0], size=(n, K))
    else:
        T = rng.normal(size=(n, K))
    return T, T


@pytest.mark.parametrize("hidden", ["sigmoid", "relu", "tanh", "identity"])
@pytest.mark.parametrize("output,loss", PAIRS)
def test_compiled_mlp_equals_the_scalar_engine(hidden, output, loss):
    rng = np.random.default_rng(7)
    for depth in (1, 2, 3):
        K = 1 if loss in ("hinge", "bce") else (3 if output == "softmax" else 2)
        sizes = (3, *([4] * (depth - 1)), K)
        net = MLP(sizes, hidden=hidden, output=output, loss=loss, seed=depth)
        X = rng.normal(size=(5, 3))
        T_engine, T_onehot = targets(rng, net, 5)
        cf = spc.compile(mlp_loss(sizes, hidden, output, loss), net.num_params, 3, K)
        value, g = cf.grad(net.params, X, T_onehot, batched=(1, 2))
        ref_loss, ref_grad = scalar.loss_and_grad(net, X, T_engine)
        assert value == pytest.approx(ref_loss, rel=1e-12, abs=1e-13)
        np.testing.assert_allclose(g, ref_grad, rtol=1e-12, atol=1e-13)


def test_an_mlp_unit_is_one_operation():
    sizes = (6, 5, 2)
    cf = spc.compile(mlp_loss(sizes, "tanh", "identity", "squared"), 47, 6, 2)
    ops = cf.program.op[cf.program.first:]
    from scalarprop.engines.compiled import ops as codes
    assert (ops == codes.DOT).sum() == 7          # one per unit, weights and bias included
    assert len(ops) == 7 + 5 + 2 * 2 + 1          # + tanh, (y - t)², the sum


def test_batched_grad_is_the_sum_of_the_rows():
    sizes = (2, 3, 1)
    cf = spc.compile(mlp_loss(sizes), 13, 2, 1)
    rng = np.random.default_rng(0)
    w, X, T = rng.normal(size=13), rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    total, g, rows = cf.grad(w, X, T, batched=(1, 2), per_row=True)
    singles = [cf.grad(w, X[n], T[n]) for n in range(6)]
    np.testing.assert_allclose(rows, [s[0] for s in singles], rtol=1e-15)
    assert total == pytest.approx(sum(rows), rel=1e-14)
    np.testing.assert_allclose(g, sum(s[1] for s in singles), rtol=1e-13)
    assert cf(w, X, T, batched=(1, 2)) == pytest.approx(total, rel=1e-15)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_sgd_epoch_equals_the_scalar_engines_training(batch_size):
    sizes = (3, 4, 2)
    net = MLP(sizes, hidden="tanh", output="identity", loss="squared", seed=1)
    rng = np.random.default_rng(2)
    X, T = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    order = rng.permutation(10)
    w = net.params.copy()
    cf = spc.compile(mlp_loss(sizes, "tanh"), net.num_params, 3, 2)
    losses = cf.sgd_epoch(w, X, T, lr=0.05, batched=(1, 2), batch_size=batch_size,
                          order=order)
    ref_losses = np.zeros_like(losses)
    scalar.train_epoch(net, X, T, order, batch_size, 0.05, ref_losses)
    np.testing.assert_allclose(w, net.params, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)


def test_sgd_epoch_stops_before_a_diverging_step():
    cf = spc.compile(lambda w, x: (w[0] * x[0]).exp(), 1, 1)
    w = np.array([1.0])
    X = np.array([[1.0], [800.0], [1.0]])
    with pytest.raises(ValueError, match="step 1"):
        cf.sgd_epoch(w, X, lr=0.01, batched=(1,))
    assert w[0] == pytest.approx(1.0 - 0.01 * math.e, rel=1e-15)   # step 0 only


def test_the_source_runs_and_gives_the_tapes_gradient():
    sizes = (2, 3, 2)
    cf = spc.compile(mlp_loss(sizes, "sigmoid", "softmax", "ce"), 17, 2, 2)
    code = cf.source_code(0)
    assert "k_grad[0] = h_grad[0] * h[0] * (1 - h[0])" in code      # slide 55
    assert "w_grad[0:2] += k_grad[0] * x[0:2]" in code
    namespace: dict = {}
    exec(PRELUDE + code, namespace)
    rng = np.random.default_rng(1)
    w, x, t = rng.normal(size=17), rng.normal(size=2), np.array([0.0, 1.0])
    value, gw, _, _ = namespace["mlp_grad"](w, x, t)
    ref_value, ref_g = cf.grad(w, x, t)
    assert value == pytest.approx(ref_value, rel=1e-14)
    np.testing.assert_allclose(gw, ref_g, rtol=1e-13)


def test_folding_and_common_subexpressions():
    def f(x):
        a = x[0] * x[1]
        b = x[1] * x[0]               # the same product: one node
        unused = x[0].exp()           # dead: removed   # noqa: F841
        return (a + b) * (2.0 * 3.0) + 0.0 + x[0] * 1.0

    cf = spc.compile(f, 2)
    # a + b: one DOT x0·x1 + x0·x1 (a and b are one node); then * 6 and + x0
    assert cf.program.num_ops == 3
    assert cf([2.0, 5.0]) == pytest.approx(122.0)


def test_an_unused_input_has_zero_gradient():
    cf = spc.compile(lambda x: x[1] * 2.0, 3)
    assert cf([5.0, 1.5, 7.0]) == 3.0
    np.testing.assert_array_equal(cf.grad([5.0, 1.5, 7.0])[1], [0.0, 2.0, 0.0])


def test_public_names():
    import scalarprop as sp

    cf = sp.compile(lambda x: sp.where(x[0] > 1.0, sp.dot(x, x), x[0]), 2)
    assert cf([2.0, 1.0]) == 5.0
    assert issubclass(sp.TracingError, ValueError) and sp.Value(2.0).data == 2.0


def test_fused_epoch_equals_the_readable_epoch():
    # 12 inputs: first-layer rows are long runs, so per-example SGD takes fused.py
    sizes = (12, 9, 3)
    net = MLP(sizes, hidden="relu", output="identity", loss="squared", seed=4)
    cf = spc.compile(mlp_loss(sizes, "relu"), net.num_params, 12, 3)
    look, ahead_arg = cf.lookahead((0,), (1, 2))
    assert cf.direct_update((0,)) and (look >= 0).sum() == 9 and ahead_arg == 0
    rng = np.random.default_rng(5)
    X, T = rng.normal(size=(30, 12)), rng.normal(size=(30, 3))
    fused_w, readable_w = net.params.copy(), net.params.copy()
    fused_loss = cf.sgd_epoch(fused_w, X, T, lr=0.01, batched=(1, 2))
    from scalarprop.engines.compiled import batch
    p = cf.program
    v, B, cols = cf.batch_slots(cf.check_args((readable_w, X, T), (1, 2)), (1, 2))
    readable_loss = np.zeros(30)
    batch.sgd_epoch(p.ins, p.cst, p.runs, p.first, v, np.zeros(p.num_slots), cf.need((0,)),
                    int(p.outputs[0]), B, cols, cf.slots((0,)), np.arange(30), 1, 0.01,
                    readable_loss)
    np.testing.assert_allclose(fused_w, v[:net.num_params], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fused_loss, readable_loss, rtol=1e-12)
    assert not np.array_equal(fused_w, net.params)


def test_shared_parameters_take_the_readable_epoch():
    # w[0] is used twice: its update cannot wait for one use only
    cf = spc.compile(lambda w, x: (spc.dot(w, x) * w[0] - 1.0) ** 2, 9, 9)
    assert not cf.direct_update((0,))
    w = np.full(9, 0.1)
    X = np.random.default_rng(0).normal(size=(4, 9))
    w_ref = w.copy()
    cf.sgd_epoch(w, X, lr=0.01, batched=(1,))
    for x in X:                                  # the same steps one grad call at a time
        w_ref -= 0.01 * cf.grad(w_ref, x)[1]
    np.testing.assert_allclose(w, w_ref, rtol=1e-13)


def test_fused_epoch_replays_when_a_parameter_overflows():
    # √(w·x) at w = 0: the loss is finite (0), its gradient is not; the fused epoch has
    # already applied the update, so it is undone and the readable epoch stops before it
    cf = spc.compile(lambda w, x: spc.dot(w, x) ** 0.5, 9, 9)
    assert cf.direct_update((0,))
    w = np.zeros(9)
    with pytest.raises(ValueError, match="step 0"):
        cf.sgd_epoch(w, np.ones((3, 9)), lr=0.1, batched=(1,))
    np.testing.assert_array_equal(w, np.zeros(9))


def parameters_on_either_side(w, x):
    """Runs of every kind the fused update walk tells apart: parameters as the second factor
    of long (9), short (3) and one-pair runs, and as the first factor of one-pair runs, the
    other factor computed."""
    h = [xi.tanh() for xi in x[:12]]
    return (spc.dot(h[:9], w[:9]) - x[12]) ** 2 + \
        (h[9] * w[11] + h[10] * w[12] + h[11] * w[13]) ** 2 + \
        (w[10] * h[0] + w[9] * h[2]) * (h[3] * w[14] + h[5] * w[15])


def test_fused_epoch_updates_parameters_on_either_side_of_a_run():
    from scalarprop.engines.compiled import fused, training
    cf = spc.compile(parameters_on_either_side, 16, 13)
    look, _ = training.fused_plan(cf, (0,), (1,))
    assert (look == -1).all()
    p = cf.program
    act = fused.actions(p.runs, p.first, cf.need((0,)), look)
    right, left = fused.TO_P | fused.UPDATE_Q, fused.TO_Q | fused.UPDATE_P
    assert sorted(zip(p.runs[:, 2].tolist(), act.tolist())) == sorted(
        [(9, right), (3, right), (1, right), (1, right), (1, left), (1, left)])
    rng = np.random.default_rng(6)
    w, X = rng.normal(size=16) * 0.5, rng.normal(size=(11, 13))
    trained = w.copy()
    cf.sgd_epoch(trained, X, lr=0.02, batched=(1,))
    stepped = w.copy()
    for x in X:                                  # the same steps one grad call at a time
        stepped -= 0.02 * cf.grad(stepped, x)[1]
    np.testing.assert_allclose(trained, stepped, rtol=1e-12, atol=1e-14)
    assert not np.allclose(trained, w)
