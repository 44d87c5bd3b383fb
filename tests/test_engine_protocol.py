"""Every engine implements the one Engine protocol, with the same signatures, and the engines
train to the same parameters (each other's oracle)."""

import inspect
from types import SimpleNamespace

import numpy as np
import pytest
from cases import make_case

from scalarprop.engines import ENGINE_NAMES, Engine, get_engine
from scalarprop.validate import check_batch

METHODS = ("loss", "loss_and_grad", "nodes", "train_epoch")


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_every_engine_implements_the_protocol_with_its_signatures(name):
    eng = get_engine(name)
    assert isinstance(eng, Engine)
    assert eng.name == name
    for method in METHODS:
        want = list(inspect.signature(getattr(Engine, method)).parameters)[1:]   # no self
        assert list(inspect.signature(getattr(eng, method)).parameters) == want, method


def test_something_without_train_epoch_is_not_an_engine():
    half = SimpleNamespace(name="half", loss=len, loss_and_grad=len, nodes=len)
    assert not isinstance(half, Engine)
    assert isinstance(SimpleNamespace(**vars(half), train_epoch=len), Engine)


def test_an_unknown_engine_is_refused_by_name():
    with pytest.raises(ValueError, match="engine='torch'.*scalar"):
        get_engine("torch")


ORDERS = {"shuffled": np.random.default_rng(5).permutation(20) + 5,
          "a consecutive run": np.arange(5, 25)}       # batches can be views of X


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
@pytest.mark.parametrize("batch_size", [1, 3, 20])
@pytest.mark.parametrize("hidden,output,loss", [("tanh", "softmax", "ce"),
                                                 ("sigmoid", "identity", "squared"),
                                                 ("relu", "sigmoid", "bce")])
def test_engines_agree_after_an_epoch(batch_size, hidden, output, loss, order):
    net, X, T = make_case(hidden, output, loss, 2, seed=4, n=30)
    Xc, Tc = check_batch(net, X, T)
    steps = -(-20 // batch_size)
    results = {}
    for name in ENGINE_NAMES:
        work, step_loss = net.copy(), np.empty(steps)
        assert get_engine(name).train_epoch(work, Xc, Tc, order, batch_size, 0.05,
                                            step_loss) == -1
        results[name] = work.params, step_loss
    ref_params, ref_loss = results["vectorized"]
    assert not np.allclose(ref_params, net.params)            # it trained
    for name, (params, step_loss) in results.items():
        assert np.abs(params - ref_params).max() <= 1e-12 * max(1.0, np.abs(ref_params).max())
        np.testing.assert_allclose(step_loss, ref_loss, rtol=1e-12, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_loss_is_the_loss_of_loss_and_grad(name):
    net, X, T = make_case("tanh", "softmax", "ce", 1, seed=1, n=7)
    eng = get_engine(name)
    assert eng.loss(net, X, T) == pytest.approx(eng.loss_and_grad(net, X, T)[0], rel=1e-14)
