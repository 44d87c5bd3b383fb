"""compare_engines can say no: seeded defects in one engine's nodes are refused and located.

Oracle: the other engine (the comparison is between two independent implementations); each
defect below is planted in the vectorized engine's answer and must make ``ok`` False, with
the report naming the node or parameter.
"""

import numpy as np
import pytest
from cases import make_case

from scalarprop import MLP, compare_engines, scalar, vectorized


def seeded(monkeypatch, change, engine=vectorized):
    """Let ``change(nodes, net)`` edit an engine's nodes before comparison."""
    real = engine.nodes

    def nodes(net, X, T):
        out = real(net, X, T)
        change(out, net)
        return out

    monkeypatch.setattr(engine, "nodes", nodes)


@pytest.fixture
def case():
    return make_case("sigmoid", "identity", "squared", 2, seed=4)


def test_the_two_engines_agree_without_a_defect(case):
    cmp = compare_engines(*case)
    assert cmp.ok(1e-12) and not cmp.problems, str(cmp)


def put(key, index, value):
    def change(nodes, net):
        a = np.array(nodes[key], dtype=float)
        a[index] = value
        nodes[key] = a
    return change


@pytest.mark.parametrize("key,index,where", [
    ("grad", 3, "W0[1,0]"), ("h1", (2, 1), "h1[2, 1]"), ("k2_grad", (0, 0), "k2_grad[0, 0]")])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_is_a_disagreement_that_says_where(monkeypatch, case, key, index,
                                                              where, value):
    seeded(monkeypatch, put(key, index, value))
    cmp = compare_engines(*case)
    assert not cmp.ok(1e-12) and not cmp.ok(np.inf)
    assert where in str(cmp) and "vectorized" in cmp.problems[0]


def test_the_same_inf_in_both_engines_is_not_agreement(monkeypatch, case):
    net, X, T = case
    for engine in (vectorized, scalar):
        seeded(monkeypatch, lambda nodes, net: nodes.update(loss=np.inf), engine)
    cmp = compare_engines(net, X, T)
    assert not cmp.ok(np.inf)
    assert "loss is inf in scalar" in str(cmp)


@pytest.mark.parametrize("key,index", [("grad", 7), ("h2", (1, 0)), ("k1_grad", (4, 2)),
                                       ("loss", ())])
def test_one_element_off_by_1e9_relative_is_refused(monkeypatch, case, key, index):
    def change(nodes, net):
        a = np.array(nodes[key], dtype=float)
        # 1e-9 of the pass's scale: far above rounding, far below any plot
        a[index] += 1e-9 * max(abs(a[index]), np.abs(nodes["grad"]).max())
        nodes[key] = a
    seeded(monkeypatch, change)
    cmp = compare_engines(*case)
    assert not cmp.ok(1e-12)
    assert cmp.max_rel > 1e-11
    if key == "grad":
        assert cmp.worst_param == case[0].param_names[7]


def test_a_wrong_node_is_named_as_the_worst_row(monkeypatch, case):
    seeded(monkeypatch, lambda nodes, net: nodes.update(k2=nodes["k2"] * 1.01))
    cmp = compare_engines(*case)
    assert not cmp.ok(1e-6)
    worst = max(cmp.rows, key=lambda name: cmp.rows[name][0])
    assert worst == "k2"


def test_a_shape_mismatch_is_a_disagreement(monkeypatch, case):
    seeded(monkeypatch, lambda nodes, net: nodes.update(h1=nodes["h1"][:, :-1]))
    cmp = compare_engines(*case)
    assert not cmp.ok(np.inf)
    assert "node h1 has shape" in str(cmp)


def test_a_missing_node_is_a_disagreement(monkeypatch, case):
    seeded(monkeypatch, lambda nodes, net: nodes.pop("k1_grad"))
    cmp = compare_engines(*case)
    assert not cmp.ok(np.inf)
    assert "node k1_grad is missing in vectorized" in str(cmp)


def test_a_bad_tolerance_is_refused(case):
    cmp = compare_engines(*case)
    for tol in (-1.0, np.nan, "1e-12"):
        with pytest.raises(ValueError, match="tol="):
            cmp.ok(tol)


def test_an_overflowing_dl_dy_of_ce_is_a_note_only_when_both_engines_agree(monkeypatch):
    # logits of ±700: dl/dy = -e^(lse - z_t) = -e^1400 overflows in both engines; backprop
    # never uses it (the gradient comes from the logits)
    net = MLP([2, 3], hidden="sigmoid", output="softmax", loss="ce", seed=0)
    net.weights(0)[:] = [[350.0, 0.0], [-350.0, 0.0], [0.0, 1.0]]
    X = np.array([[2.0, 0.5], [-2.0, 0.1]])
    T = np.array([1, 0])
    cmp = compare_engines(net, X, T)
    assert cmp.ok(1e-12) and cmp.notes and not cmp.problems, str(cmp)
    assert "not used by backprop" in str(cmp)
    seeded(monkeypatch, lambda nodes, net: nodes.update(
        h1_grad=np.where(np.isinf(nodes["h1_grad"]), np.nan, nodes["h1_grad"])))
    cmp = compare_engines(net, X, T)
    assert not cmp.ok(np.inf) and "h1_grad" in cmp.problems[0], str(cmp)
