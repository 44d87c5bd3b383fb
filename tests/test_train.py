"""Gradient descent with either engine: same parameters, real accuracy, nothing lost."""

import numpy as np
import pytest
from cases import make_case

from scalarprop import MLP, scalar
from scalarprop.data import load_digits, load_synth
from scalarprop.engines import get_engine
from scalarprop.train import TrainingDivergedError, accuracy, train


@pytest.mark.parametrize("batch_size", [1, 7, 64], ids=["stochastic", "minibatch", "full"])
@pytest.mark.parametrize("hidden,output,loss", [("sigmoid", "softmax", "ce"),
                                                 ("tanh", "identity", "squared"),
                                                 ("relu", "sigmoid", "bce")])
def test_engines_reach_the_same_parameters_after_an_epoch(batch_size, hidden, output, loss):
    net, X, T = make_case(hidden, output, loss, 2, seed=1, n=64)
    a, b = net.copy(), net.copy()
    train(a, X, T, engine="scalar", batch_size=batch_size, epochs=2, lr=0.05, seed=3)
    train(b, X, T, engine="vectorized", batch_size=batch_size, epochs=2, lr=0.05, seed=3)
    c = net.copy()
    train(c, X, T, engine="autodiff", batch_size=batch_size, epochs=2, lr=0.05, seed=3)
    assert not np.allclose(a.params, net.params)          # it trained
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(c.params, b.params, rtol=0, atol=1e-10)


def test_one_step_is_theta_minus_lr_times_the_summed_gradient():
    net, X, T = make_case("sigmoid", "identity", "squared", 1, n=5)
    _, grad = scalar.loss_and_grad(net, X, T)              # the sum over the batch
    expected = net.params - 0.1 * grad
    train(net, X, T, batch_size=5, epochs=1, lr=0.1, shuffle=False)
    np.testing.assert_allclose(net.params, expected, rtol=1e-14, atol=1e-15)


def test_stochastic_steps_follow_the_shuffled_order():
    net, X, T = make_case("tanh", "identity", "squared", 1, n=4)
    ref = net.copy()
    order = np.random.default_rng(9).permutation(4)
    for e in order:                                        # the lecture's loop, by hand
        _, g = scalar.loss_and_grad(ref, X[e:e + 1], T[e:e + 1])
        ref.params[:] -= 0.2 * g
    train(net, X, T, batch_size=1, epochs=1, lr=0.2, seed=9)
    np.testing.assert_allclose(net.params, ref.params, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("engine,batch_size,epochs,lr", [("scalar", 1, 30, 0.05),
                                                        ("vectorized", 32, 60, 0.01)])
def test_digits_stochastic_and_minibatch_reach_95_percent(engine, batch_size, epochs, lr):
    (X, T), (Xv, Tv), K = load_digits()
    net = MLP([64, 32, K], "sigmoid", "softmax", "ce", seed=0)
    h = train(net, X / 16, T, engine=engine, batch_size=batch_size, epochs=epochs, lr=lr,
              X_val=Xv / 16, T_val=Tv)
    assert accuracy(net, Xv / 16, Tv) >= 0.95, str(h)
    assert h.val_accuracy[-1] == accuracy(net, Xv / 16, Tv)


@pytest.mark.parametrize("sizes,output,loss", [([2, 16, 2], "softmax", "ce"),
                                               ([2, 16, 1], "sigmoid", "bce")])
def test_synth_reaches_90_percent(sizes, output, loss):
    (X, T), (Xv, Tv), _ = load_synth(num_train=5000, num_val=2000)
    net = MLP(sizes, "sigmoid", output, loss, seed=0)
    h = train(net, X, T, engine="scalar", epochs=5, lr=0.05, X_val=Xv, T_val=Tv)
    assert h.val_accuracy[-1] >= 0.90, str(h)
    assert h.train_loss[-1] < h.train_loss[0]


@pytest.mark.parametrize("engine", ["scalar", "vectorized", "autodiff"])
def test_divergence_stops_with_epoch_and_step_and_keeps_parameters(engine):
    net, X, T = make_case("identity", "identity", "squared", 1, n=20)
    X = X * 10
    probe = net.copy()
    # find, by hand, the last finite parameters of a run with a huge learning rate
    last_good, failing_step = None, None
    for s in range(20):
        with np.errstate(all="ignore"):
            l, g = get_engine(engine).loss_and_grad(probe, X[s:s + 1], T[s:s + 1])
        if not (np.isfinite(l) and np.isfinite(g).all()):
            failing_step = s + 1
            break
        probe.params[:] -= 1e3 * g
        last_good = probe.params.copy()
    assert failing_step is not None
    with pytest.raises(TrainingDivergedError, match=f"epoch 1, step {failing_step}") as info:
        train(net, X, T, engine=engine, epochs=3, lr=1e3, shuffle=False)
    assert info.value.epoch == 1 and info.value.step == failing_step
    np.testing.assert_array_equal(net.params, last_good)
    assert np.isfinite(net.params).all()


@pytest.mark.parametrize("kwargs,match", [
    (dict(engine="torch"), "engine"), (dict(batch_size=0), "batch_size"),
    (dict(epochs=-1), "epochs"), (dict(lr=0.0), "lr"), (dict(lr=float("nan")), "lr"),
    (dict(X_val=np.zeros((2, 3))), "X_val and T_val"),
    (dict(X_val=np.zeros((2, 2)), T_val=np.zeros((2, 1))), "X_val"),
])
def test_bad_arguments_are_refused_before_anything_changes(kwargs, match):
    net, X, T = make_case("sigmoid", "identity", "squared", 1, n=6)
    before = net.params.copy()
    with pytest.raises(ValueError, match=match):
        train(net, X, T, **kwargs)
    np.testing.assert_array_equal(net.params, before)


def test_history_reports_per_epoch():
    net, X, T = make_case("tanh", "softmax", "ce", 1, n=30)
    h = train(net, X, T, epochs=3, lr=0.05, X_val=X, T_val=T, engine="vectorized",
              batch_size=4)
    assert h.epochs == 3 and len(h.val_loss) == len(h.val_accuracy) == len(h.time) == 3
    assert all(0 <= a <= 1 for a in h.val_accuracy)
    assert h.val_loss[-1] == pytest.approx(scalar.loss(net, X, T) / 30, rel=1e-12)
    assert "val acc" in str(h)
