"""The reports people read: pinned text for fixed cases (regenerate with
``SCALARPROP_WRITE_REPORTS=1 pytest tests/test_reports.py`` after a deliberate change, and read
the diff), plus the comparisons mutation testing found unguarded."""

import os
from pathlib import Path

import numpy as np
import pytest
from cases import make_case

from scalarprop import MLP, check_gradients, compare_engines, vectorized

PINNED = Path(__file__).with_name("reports")


def pinned(name: str, text: str) -> None:
    path = PINNED / f"{name}.txt"
    if os.environ.get("SCALARPROP_WRITE_REPORTS"):
        path.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == path.read_text(encoding="utf-8")


def round_numbers(text: str) -> str:
    """Reports print rounding-level errors (1e-12...) that move with BLAS and compile order:
    the pinned text keeps three significant digits of anything below 1e-6."""
    words = []
    for word in text.split(" "):
        try:
            value = float(word)
        except ValueError:
            words.append(word)
            continue
        words.append("~0" if abs(value) < 1e-6 and value != 0 else word)
    return " ".join(words)


def broken(monkeypatch, name, factor):
    real = vectorized.loss_and_grad

    def loss_and_grad(net, X, T):
        loss, grad = real(net, X, T)
        grad[net.param_index(name)] *= factor
        return loss, grad

    monkeypatch.setattr(vectorized, "loss_and_grad", loss_and_grad)


def test_gradient_check_reports(monkeypatch):
    net, X, T = make_case("sigmoid", "identity", "squared", 1, seed=3)      # 26 parameters
    pinned("auto_ok", round_numbers(str(check_gradients(net, X, T, engine="vectorized"))))
    pinned("fixed_ok", round_numbers(str(check_gradients(net, X, T, engine="vectorized",
                                                         atol=1e-5, rtol=1e-3))))
    broken(monkeypatch, "W0[2,1]", -1.0)
    pinned("auto_failed", round_numbers(str(check_gradients(net, X, T, engine="vectorized"))))
    big, Xb, Tb = make_case("tanh", "softmax", "ce", 2, seed=3, width=6)    # over 40 rows
    pinned("auto_large", round_numbers(str(check_gradients(big, Xb, Tb, engine="vectorized"))))


def test_kink_report():
    net = MLP([2, 1], output="identity", loss="absolute", seed=0)
    X = np.array([[0.5, -1.0]])
    pinned("kinks", round_numbers(str(check_gradients(net, X, net.predict(X)))))


def test_fast_and_comparison_reports(monkeypatch):
    net, X, T = make_case("sigmoid", "softmax", "ce", 1, seed=4, width=5)
    pinned("fast_ok", round_numbers(str(check_gradients(net, X, T, engine="vectorized",
                                                        fast=True))))
    pinned("engines_ok", round_numbers(str(compare_engines(net, X, T))))
    broken(monkeypatch, "b0[2]", 1.05)
    pinned("fast_failed", round_numbers(str(check_gradients(net, X, T, engine="vectorized",
                                                            fast=True))))


def test_compare_engines_needs_two_names():
    net, X, T = make_case("sigmoid", "identity", "squared", 1)
    with pytest.raises(ValueError, match=r"engines=\('scalar',\): expected two engine names"):
        compare_engines(net, X, T, engines=("scalar",))


def test_a_node_missing_in_the_first_engine_is_named(monkeypatch):
    net, X, T = make_case("sigmoid", "identity", "squared", 1)
    from scalarprop import scalar

    real = scalar.nodes
    monkeypatch.setattr(scalar, "nodes", lambda *a: {k: v for k, v in real(*a).items()
                                                    if k != "h1"})
    assert "node h1 is missing in scalar" in str(compare_engines(net, X, T))


def test_a_huge_dl_dy_of_ce_does_not_hide_an_error_elsewhere(monkeypatch):
    # logits of ~±30: dl/dy = -e^(lse - z_t) is ~1e13; it is measured on its own scale, so
    # a 1e-9 relative error in k1's gradient is still seen
    net = MLP([2, 4, 3], hidden="tanh", output="softmax", loss="ce", seed=0)
    net.weights(1)[:] *= 30
    X = np.array([[1.0, -1.0], [0.5, 2.0]])
    T = np.array([2, 0])
    cmp = compare_engines(net, X, T)
    assert cmp.ok(1e-12) and max(np.abs(vectorized.nodes(net, X, T)["h2_grad"]).ravel()) > 1e6

    real = vectorized.nodes

    def off(net_, X_, T_):
        out = real(net_, X_, T_)
        out["k1_grad"] = out["k1_grad"] * (1 + 1e-9)
        return out

    monkeypatch.setattr(vectorized, "nodes", off)
    assert not compare_engines(net, X, T).ok(1e-12)
