"""Issue 16, cases 2, 5 and 6 in Python: interrupts answered at a known boundary, epochs run
in bounded calls with the same updates, divergence that keeps finite parameters, and
networks that two threads cannot train at once.

Numbers in comments (``# 16.5``) are the issue's numbered cases."""

import importlib
import os
import re
import signal
import threading
import time

import numpy as np
import pytest
from cases import make_case

from scalarprop import MLP
from scalarprop import validate as validate_module
from scalarprop.engines import ENGINE_NAMES, get_engine
from scalarprop.network import NetworkBusyError
from scalarprop.train import TrainingDivergedError, TrainingInterrupted, train

# the module (``scalarprop.train`` is also the function, re-exported by the package)
train_module = importlib.import_module("scalarprop.train")
#: every loss with an output it accepts
HEADS = [("identity", "squared"), ("identity", "absolute"), ("sigmoid", "bce"),
         ("softmax", "ce"), ("identity", "hinge")]


# -- bounded kernel calls, same updates ----------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@pytest.mark.parametrize("batch_size", [2, 3])
def test_an_epoch_in_many_calls_makes_the_same_updates_as_one_call(monkeypatch, engine,
                                                                   batch_size):
    net, X, T = make_case("tanh", "softmax", "ce", 1, seed=2, n=23)
    one_call = net.copy()
    order = np.random.default_rng(5).permutation(23)
    steps = (23 + batch_size - 1) // batch_size
    # the oracle: the engine's own epoch, in one call over the whole order
    assert get_engine(engine).train_epoch(one_call, X, T.reshape(-1, 1).astype(float), order,
                                          batch_size, 0.1, np.empty(steps)) == -1
    monkeypatch.setattr(train_module, "CHUNK_WORK", 1)        # one step per call
    assert train_module.chunk_steps(batch_size, net.num_params, steps) == 1
    train(net, X, T, engine=engine, batch_size=batch_size, epochs=1, lr=0.1, seed=5)
    np.testing.assert_array_equal(net.params, one_call.params)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_batch_too_large_for_one_call_sums_its_gradient_from_pieces(monkeypatch, engine):
    net, X, T = make_case("sigmoid", "identity", "squared", 2, seed=4, n=20)
    one_call = net.copy()
    get_engine(engine).train_epoch(one_call, X, T, np.arange(20), 20, 0.05, np.empty(1))
    get_engine(engine).train_epoch(one_call, X, T, np.arange(20), 20, 0.05, np.empty(1))
    monkeypatch.setattr(train_module, "SPLIT_WORK", 0)
    monkeypatch.setattr(train_module, "CHUNK_WORK", 3 * train_module.example_work(net))
    h = train(net, X, T, engine=engine, batch_size=20, epochs=2, lr=0.05, shuffle=False)
    assert h.epochs == 2
    # the same sum in another order of additions
    np.testing.assert_allclose(net.params, one_call.params, rtol=1e-12, atol=1e-14)
    assert not np.allclose(net.params, make_case("sigmoid", "identity", "squared", 2,
                                                 seed=4, n=20)[0].params)


def test_chunks_are_whole_batches_of_bounded_work():
    assert train_module.chunk_steps(1, 82, 10_000) == 10_000            # small: one call
    big = train_module.chunk_steps(4, 1_000_000, 10_000)
    assert big == train_module.CHUNK_WORK // 4_000_000 and big >= 1
    assert train_module.chunk_steps(10_000, 10**9, 3) == 1              # at least a batch


# -- 16.2: interrupts ----------------------------------------------------------------------


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_stops_a_long_epoch_at_a_step_boundary_quickly():
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(12000, 2)), rng.integers(0, 2, size=12000)
    net = MLP([2, 3000, 2], "sigmoid", "softmax", "ce", seed=0)
    start = net.params.copy()
    train(net.copy(), X[:4], T[:4], batch_size=2, epochs=1)       # compile outside the clock
    timer = _interrupt_after(0.3)
    t0 = time.perf_counter()
    with pytest.raises(TrainingInterrupted) as info:
        train(net, X, T, batch_size=2, epochs=50, lr=0.01, shuffle=False)
    waited = time.perf_counter() - t0 - 0.3
    timer.join()
    exc = info.value
    assert waited < 1.0, f"took {waited:.2f} s to answer Ctrl-C"
    assert isinstance(exc, KeyboardInterrupt) and exc.steps == 6000
    assert f"in epoch {exc.epoch}" in str(exc) and 0 <= exc.step < 6000
    # the oracle: exactly the epochs and steps it names, run on their own (same kernel)
    ref = MLP([2, 3000, 2], "sigmoid", "softmax", "ce", seed=0)
    np.testing.assert_array_equal(ref.params, start)
    if exc.epoch > 1:
        train(ref, X, T, batch_size=2, epochs=exc.epoch - 1, lr=0.01, shuffle=False)
    np.testing.assert_array_equal(exc.epoch_params, ref.params)
    if exc.step:
        train(ref, X[:2 * exc.step], T[:2 * exc.step], batch_size=2, epochs=1, lr=0.01,
              shuffle=False)
    np.testing.assert_array_equal(net.params, ref.params)


def test_ctrl_c_between_epochs_is_told_as_an_epoch_boundary():
    net, X, T = make_case("sigmoid", "identity", "squared", 1, n=10)
    after = {}

    def stop_at_2(epoch, history):
        after[epoch] = net.params.copy()
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="after its last step.*after epoch 2") as info:
        train(net, X, T, epochs=5, lr=0.05, after_epoch=stop_at_2)
    assert info.value.completed_epochs == 2 and info.value.history.epochs == 2
    np.testing.assert_array_equal(info.value.epoch_params, after[2])
    np.testing.assert_array_equal(net.params, after[2])


def test_ctrl_c_inside_one_long_full_batch_step_is_answered_quickly():
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(24000, 2)), rng.integers(0, 2, size=24000)
    net = MLP([2, 3000, 2], "sigmoid", "softmax", "ce", seed=0)
    assert 24000 * train_module.example_work(net) > train_module.SPLIT_WORK   # one step, split
    train(net.copy(), X[:4], T[:4], batch_size=4, epochs=1)       # compile outside the clock
    timer = _interrupt_after(0.3)
    t0 = time.perf_counter()
    with pytest.raises(TrainingInterrupted, match="before its first step") as info:
        train(net, X, T, batch_size=24000, epochs=50, lr=1e-4)
    waited = time.perf_counter() - t0 - 0.3
    timer.join()
    assert waited < 1.0, f"took {waited:.2f} s to answer Ctrl-C"
    # the oracle: the whole epochs it names, from the same start
    ref = MLP([2, 3000, 2], "sigmoid", "softmax", "ce", seed=0)
    if info.value.epoch > 1:
        train(ref, X, T, batch_size=24000, epochs=info.value.epoch - 1, lr=1e-4)
    np.testing.assert_array_equal(net.params, ref.params)


# -- 16.5: divergence keeps its promise ----------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@pytest.mark.parametrize("batch_size", [1, 2, 12], ids=["stochastic", "minibatch", "full"])
@pytest.mark.parametrize("output,loss", HEADS)
def test_lr_1e308_never_leaves_a_non_finite_parameter(engine, batch_size, output, loss):
    net, X, T = make_case("relu", output, loss, 1, seed=3, n=12)
    X = X * 100
    try:
        train(net, X, T, engine=engine, batch_size=batch_size, epochs=4, lr=1e308,
              shuffle=False)
        assert np.isfinite(net.params).all()
        return
    except TrainingDivergedError as exc:
        failed = exc
    assert np.isfinite(net.params).all(), "the kept parameters must be finite"
    # the oracle: from the kept parameters, the named step really fails
    s = failed.step - 1
    Xb, Tb = X[s * batch_size:(s + 1) * batch_size], T[s * batch_size:(s + 1) * batch_size]
    with np.errstate(all="ignore"):
        loss_value, grad = get_engine("vectorized").loss_and_grad(net, Xb, Tb)
        after = net.params - 1e308 * grad
    assert not (np.isfinite(loss_value) and np.isfinite(grad).all()
                and np.isfinite(after).all())


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@pytest.mark.parametrize("batch_size", [1, 2])
def test_an_engines_own_train_epoch_keeps_the_promise_at_lr_1e308(engine, batch_size):
    # the Engine protocol's train_epoch, called directly (without train's checks): it used
    # to leave inf parameters in 162 of 540 such calls, 0 of them told
    for output, loss in HEADS:
        net, X, T = make_case("relu", output, loss, 1, seed=3, n=6)
        Xc, Tc = validate_module.check_batch(net, X * 100, T)
        order = np.arange(6)
        step_loss = np.empty(6 // batch_size)
        failed = get_engine(engine).train_epoch(net, Xc, Tc, order, batch_size, 1e308,
                                                step_loss)
        assert np.isfinite(net.params).all(), (loss, failed)
        if failed < 0:
            continue
        # the oracle: from the kept parameters, the named step really fails
        idx = order[failed * batch_size:(failed + 1) * batch_size]
        with np.errstate(all="ignore"):
            loss_value, grad = get_engine("vectorized").loss_and_grad(net, Xc[idx], Tc[idx])
            after = net.params - 1e308 * grad
        assert not (np.isfinite(loss_value) and np.isfinite(grad).all()
                    and np.isfinite(after).all()), (loss, failed)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_lr_1e308_with_split_batches_never_leaves_a_non_finite_parameter(monkeypatch, engine):
    monkeypatch.setattr(train_module, "SPLIT_WORK", 0)
    monkeypatch.setattr(train_module, "CHUNK_WORK", 1)                 # pieces of one
    for output, loss in HEADS:
        net, X, T = make_case("relu", output, loss, 1, seed=3, n=12)
        with pytest.raises(TrainingDivergedError):
            train(net, X * 100, T, engine=engine, batch_size=6, epochs=4, lr=1e308)
        assert np.isfinite(net.params).all(), loss


def test_an_update_that_overflows_is_rolled_back_and_named(monkeypatch):
    # identity network, one example: loss and gradient stay finite while W * 1e308 overflows
    net = MLP([1, 1], "identity", "identity", "squared", seed=0)
    net.params[:] = [1.0, 0.0]
    X, T = np.array([[1.0], [1.0]]), np.array([[3.0], [3.0]])
    with pytest.raises(TrainingDivergedError, match="update makes a parameter NaN or inf "
                                                    r".*epoch 1, step 1") as info:
        train(net, X, T, batch_size=1, epochs=1, lr=1e308, shuffle=False)
    assert np.isfinite(info.value.loss)                  # the loss itself was fine
    np.testing.assert_array_equal(net.params, [1.0, 0.0])


def test_training_refuses_non_finite_starting_parameters():
    net, X, T = make_case("tanh", "identity", "squared", 1)
    net.params[5] = np.inf
    before = net.params.copy()
    with pytest.raises(ValueError, match=re.escape(f"{net.param_name(5)} (index 5) = inf")):
        train(net, X, T)
    np.testing.assert_array_equal(net.params, before)


def test_training_that_cannot_fit_in_memory_is_refused_before_it_starts(monkeypatch):
    net, X, T = make_case("tanh", "identity", "squared", 1, n=50)
    before = net.params.copy()
    need = train_module.training_bytes(net, X, 50, "scalar")
    monkeypatch.setattr(validate_module, "available_memory", lambda: need - 1)
    with pytest.raises(ValueError, match="training this network on this data needs"):
        train(net, X, T, batch_size=50)
    np.testing.assert_array_equal(net.params, before)


# -- 16.6: threads -------------------------------------------------------------------------


def test_two_threads_on_two_networks_give_the_sequential_results():
    (X, T) = np.random.default_rng(1).normal(size=(300, 3)), np.zeros((300, 2))
    nets = [MLP([3, 40, 2], "tanh", "identity", "squared", seed=s) for s in (0, 1)]
    sequential = [n.copy() for n in nets]
    for n in sequential:
        train(n, X, T, epochs=3, lr=0.01)
    threads = [threading.Thread(target=train, args=(n, X, T), kwargs=dict(epochs=3, lr=0.01))
               for n in nets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(nets, sequential):
        np.testing.assert_array_equal(a.params, b.params)


def test_a_second_train_of_the_same_network_is_refused():
    net, X, T = make_case("tanh", "identity", "squared", 1, n=20)
    started, release = threading.Event(), threading.Event()

    def hold(epoch, history):
        started.set()
        release.wait(10)

    worker = threading.Thread(target=train, args=(net, X, T),
                              kwargs=dict(epochs=1, after_epoch=hold))
    worker.start()
    assert started.wait(10)
    during = net.params.copy()
    with pytest.raises(NetworkBusyError, match="already being trained"):
        train(net, X, T, epochs=1)
    np.testing.assert_array_equal(net.params, during)            # untouched
    release.set()
    worker.join()
    train(net, X, T, epochs=1)                                    # free again
    copy = net.copy()
    with net.exclusive():
        train(copy, X, T, epochs=1)                               # a copy has its own guard


@pytest.mark.timing
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_two_threads_train_two_networks_faster_than_one_after_the_other():
    """The kernels release the GIL. Timing on a shared machine: best of three, a generous
    margin (two free cores give ~0.5; the GIL held would give >= 1)."""
    X, T = np.random.default_rng(0).normal(size=(4000, 2)), np.zeros((4000, 1))
    nets = [MLP([2, 1000, 1], "tanh", "identity", "squared", seed=s) for s in (0, 1)]
    train(nets[0].copy(), X[:2], T[:2])                           # compile first

    def run_all(threaded):
        work = [n.copy() for n in nets]
        t0 = time.perf_counter()
        if threaded:
            ts = [threading.Thread(target=train, args=(w, X, T), kwargs=dict(epochs=2))
                  for w in work]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        else:
            for w in work:
                train(w, X, T, epochs=2)
        return time.perf_counter() - t0

    ratios = []
    for _ in range(3):
        ratios.append(run_all(True) / run_all(False))
        if ratios[-1] < 0.85:
            break
    assert min(ratios) < 0.85, f"threaded / sequential time: {ratios}"


def test_a_network_pickles_and_deep_copies_with_a_guard_of_its_own():
    import copy
    import pickle

    net, X, T = make_case("tanh", "identity", "squared", 1)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        np.testing.assert_array_equal(clone.params, net.params)
        assert clone.sizes == net.sizes and not np.shares_memory(clone.params, net.params)
        with net.exclusive():
            train(clone, X, T, epochs=1)                     # not held by net's guard
            with pytest.raises(NetworkBusyError):
                train(net, X, T, epochs=1)
