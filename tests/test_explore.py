"""explore(): the page's recorded SGD run against an independent one, its size budget, that it
holds no reference to the network, and the bad input it refuses (the page itself is tested in a
real browser in test_explore_browser.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cases import lecture_data

import scalarprop as sp
from scalarprop.cli import main
from scalarprop.engines import vectorized


def test_recorded_sgd_matches_an_independent_run_with_the_other_engine():
    net, X, T = lecture_data()
    page = sp.explore(net, X, T, steps=30, lr=0.05)
    rec = page.recording
    theta = net.params.copy()
    run = net.copy()
    for s, i in enumerate(rec.order):
        np.testing.assert_allclose(rec.params[s], run.params, rtol=0, atol=1e-12)
        _, g = vectorized.loss_and_grad(run, X[i:i + 1], T[i:i + 1])
        run.params[:] -= 0.05 * g
    np.testing.assert_allclose(rec.params[-1], run.params, rtol=0, atol=1e-12)
    assert sorted(rec.order[:5]) == [0, 1, 2, 3, 4]      # one pass over the data per epoch
    np.testing.assert_array_equal(net.params, theta)    # the run trained a copy


def test_checks_are_the_engines_and_the_finite_difference():
    net, X, T = lecture_data()
    page = sp.explore(net, X, T, steps=4)
    rec = page.recording
    w12 = list(rec.check_params).index(net.param_index("W0[1,0]"))
    assert rec.checks["scalar"][0, 0, w12] == pytest.approx(-0.0792, abs=1e-12)   # slide 44
    assert rec.checks["fd"][0, 0, w12] == pytest.approx(-0.0792, abs=1e-8)
    run = net.copy()
    run.params[:] = rec.params[3]
    e = sp.explain(run, X[2], T[2], "W0[1,0]")
    assert rec.checks["vectorized"][3, 2, w12] == e.engines["vectorized"]
    assert rec.checks["fd"][3, 2, w12] == pytest.approx(e.finite_difference, abs=1e-12)


def test_lecture_page_is_small_and_self_contained():
    net, X, T = lecture_data()
    page = sp.explore(net, X, T)
    assert page.size < 200_000, page.size
    html = page.html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html)) - {"http://www.w3.org/2000/svg"}
    assert not urls, urls
    assert 'id="step"' in html and 'id="example"' in html and 'id="derivation"' in html
    assert page._repr_html_().startswith("<iframe srcdoc=")


def test_784_128_10_page_with_50_steps_and_5_examples_is_under_2_mb():
    rng = np.random.default_rng(0)
    net = sp.MLP([784, 128, 10], seed=0)
    X, T = rng.normal(size=(20, 784)), rng.normal(size=(20, 10))
    page = sp.explore(net, X, T, steps=50, examples=5)
    assert page.size < 2_000_000, page.size
    assert len(page.params) == 16 * 16 + 16 + 16 * 10 + 10      # the drawn edges and biases
    # of each input, the 8 values the header shows and the 16 drawn ones, no more
    shown = re.findall(r'"x":\{([^}]*)\}', page.html)
    assert len(shown) == 5 and all(8 < len(x.split(",")) <= 24 for x in shown)


def test_output_that_is_not_html_is_refused(tmp_path):
    net, X, T = lecture_data()
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"\.html"):
        sp.explore(net, X, T, tmp_path / "page.png")
    assert not (tmp_path / "page.png").exists()
    np.testing.assert_array_equal(net.params, before)
    assert main(["explore", "--example", "lecture", "--out", str(tmp_path / "x.svg")]) == 2


def test_too_many_edges_suggests_max_units():
    net = sp.MLP([60, 60, 60], seed=0)
    X, T = np.zeros((2, 60)), np.zeros((2, 60))
    with pytest.raises(ValueError, match="max_units"):
        sp.explore(net, X, T, max_units=60)          # 3600 + 3600 edges drawn
    sp.explore(net, X, T, steps=1, max_units=16)     # with the gap it is fine


@pytest.mark.parametrize("bad, match", [
    (dict(steps=-1), "steps"), (dict(examples=0), "examples"), (dict(lr=float("nan")), "lr"),
    (dict(show="colours"), "show"), (dict(weight="W7[0,0]"), "W7"), (dict(engine="gpu"), "engine"),
    (dict(steps=10**9), r"steps=1000000000: at most 10000"), (dict(lr=True), "lr=True"),
    (dict(eps=True), "eps=True"), (dict(seed=-1), "seed=-1"), (dict(seed="a"), "seed='a'"),
])
def test_bad_options_are_refused(bad, match, monkeypatch):
    import scalarprop.plot.page as page_module

    def no_work(*args, **kwargs):
        raise AssertionError("the SGD run started before the options were checked")

    monkeypatch.setattr(page_module, "record", no_work)
    net, X, T = lecture_data()
    with pytest.raises(ValueError, match=match):
        sp.explore(net, X, T, **bad)


def test_non_finite_parameters_are_refused_before_any_kernel(monkeypatch):
    from scalarprop.engines import scalar

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel ran on non-finite parameters")

    monkeypatch.setattr(scalar, "nodes", no_kernel)
    net, X, T = lecture_data()
    net.params[3] = np.nan
    with pytest.raises(ValueError, match=r"net.params: W0\[1,1\] \(index 3\) = nan"):
        sp.explore(net, X, T)


def test_diverging_sgd_is_a_value_error_and_leaves_the_network():
    net, X, T = lecture_data()
    before = net.params.copy()
    with pytest.raises(ValueError, match="smaller learning rate"):
        sp.explore(net, X * 1e3, T * 1e150, lr=1e10, steps=5)
    np.testing.assert_array_equal(net.params, before)


def test_command_writes_the_page(tmp_path, capsys):
    out = tmp_path / "lecture.html"
    assert main(["explore", "--example", "lecture", "--steps", "5", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "2-3-1 network" in capsys.readouterr().out


@pytest.mark.parametrize("engine", ["vectorized", "autodiff"])
def test_any_engine_records_the_same_run(engine):
    net, X, T = lecture_data()
    ref = sp.explore(net, X, T, steps=8).recording
    rec = sp.explore(net, X, T, steps=8, engine=engine).recording
    np.testing.assert_allclose(rec.params, ref.params, rtol=0, atol=1e-12)
    for key in ("k1", "h1_grad", "h2", "x_grad"):
        np.testing.assert_allclose(rec.nodes[key], ref.nodes[key], rtol=1e-12, atol=1e-12)


def test_command_on_data_and_on_a_saved_model(tmp_path):
    assert main(["explore", "--data", "synth", "--steps", "3", "--out",
                 str(tmp_path / "synth.html")]) == 0
    model = tmp_path / "m.npz"
    sp.MLP([64, 6, 10], output="softmax", loss="ce", seed=1).save(model)
    assert main(["explore", "--data", "digits", "--model", str(model), "--steps", "2",
                 "--weight", "W1[3,2]", "--out", str(tmp_path / "digits.html")]) == 0
    assert main(["explore", "--data", "synth", "--model", str(model), "--out",
                 str(tmp_path / "bad.html")]) == 2                 # 2 features, 64 inputs
    assert not (tmp_path / "bad.html").exists()


def test_command_takes_the_first_example(tmp_path):
    out = tmp_path / "x.html"
    assert main(["explore", "--sizes", "3,4,2", "--x", "1,2,3", "--t", "0.5,-1", "--steps", "2",
                 "--out", str(out)]) == 0
    assert '"x":{"0":1.0,"1":2.0,"2":3.0},"t":[0.5,-1.0]' in out.read_text(encoding="utf-8")
    assert main(["explore", "--sizes", "3,4,2", "--x", "1,2", "--t", "0", "--out",
                 str(tmp_path / "y.html")]) == 2
    assert main(["explore", "--sizes", "3,4,2", "--x", "1,2,3", "--out",
                 str(tmp_path / "y.html")]) == 2
