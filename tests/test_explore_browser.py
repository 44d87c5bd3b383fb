"""The explorer page in a real browser (headless Chromium, Debian's ``chromium``): what a
student clicks and reads, held to explain's own text, the lecture's numbers (slides 43-44) and
an independent SGD run. Every test fails on a console error of the page."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from cases import lecture_data

import scalarprop as sp
from scalarprop.engines import vectorized

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (.ci/run installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    net, X, T = lecture_data()
    path = tmp_path_factory.mktemp("page") / "lecture.html"
    page = sp.explore(net, X, T, path, steps=50, lr=0.05)
    return net, X, T, page, path


class Opened:
    """A page opened in the browser, collecting console errors."""

    def __init__(self, browser, path, width=1300):
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri())

    def derivation(self) -> str:
        return self.page.locator("#derivation pre").inner_text()

    def close(self):
        self.page.close()
        assert not self.errors, self.errors


@pytest.fixture
def opened(browser, lecture):
    o = Opened(browser, lecture[4])
    yield o
    o.close()


def at_step(net, X, T, page, s):
    """The network after s SGD steps, run independently with the vectorized engine in the
    order the page recorded; it must agree with the page's parameters, which it returns (the
    finite difference in explain's text sees the last bits, so the text is compared at the
    recorded parameters)."""
    run = net.copy()
    for i in page.recording.order[:s]:
        _, g = vectorized.loss_and_grad(run, X[i:i + 1], T[i:i + 1])
        run.params[:] -= 0.05 * g
    np.testing.assert_allclose(page.recording.params[s], run.params, rtol=0, atol=1e-12)
    run.params[:] = page.recording.params[s]
    return run


def test_click_w12_shows_the_slides_chain(opened, lecture):
    net, X, T, _, _ = lecture
    opened.page.locator('[data-label="W0[1,0]"]').click()
    text = opened.derivation()
    assert "∂l/∂w₁₂ = ∂l/∂y · ∂y/∂h₂ · ∂h₂/∂k₂ · ∂k₂/∂w₁₂" in text
    assert "= 2(10.1 − 12.1) · (−2) · 0.99(1 − 0.99) · (−1)" in text
    assert "= (−4) · (−2) · 0.0099 · (−1)" in text                  # the four factors
    assert "= −0.0792\n" in text
    assert text == str(sp.explain(net, X[0], T[0], "W0[1,0]"))     # all of it, as explain
    assert "on" in opened.page.locator('[data-param="W1[0,1]"]').get_attribute("class")
    assert "on" in opened.page.locator('[data-node="h1[1]"]').get_attribute("class")
    assert "on" not in opened.page.locator('[data-node="h1[0]"]').get_attribute("class")


def test_hover_previews_and_leaving_returns_to_the_pinned_weight(opened):
    opened.page.locator('[data-label="W0[1,0]"]').click()
    opened.page.locator('[data-node="h1[2]"]').hover()
    assert opened.derivation().startswith("∂l/∂h₃ for one example")
    opened.page.locator("h1").hover()
    assert opened.derivation().startswith("∂l/∂w₁₂ for one example")


def test_the_toggle_shows_values_gradients_and_update_directions(opened):
    label = opened.page.locator('[data-label="W1[0,1]"] text')
    node = opened.page.locator('[data-node="h1[1]"] .value')
    assert label.text_content() == "-2" and node.text_content() == "0.99"       # slide 43
    opened.page.select_option("#show", "gradients")
    assert label.text_content() == "-3.96"                  # ∂l/∂v₂ = 2(y − t)·h₂, slide 44
    assert node.text_content() == "8"                       # ∂l/∂h₂ = 2(y − t)·v₂ = (−4)(−2)
    opened.page.select_option("#show", "updates")
    assert label.text_content() == "3.96" and node.text_content() == "-8"  # v₂ goes up


def test_the_weight_and_the_loss_against_the_step(opened, lecture):
    _, _, _, page, _ = lecture
    opened.page.locator('[data-label="W0[1,0]"]').click()
    lines = opened.page.locator("#wchart polyline")
    assert lines.count() == 2 and "w₁₂" in opened.page.locator("#wchart").text_content()
    assert len(lines.first.get_attribute("points").split()) == 51           # steps 0..50
    values = [float(p.split(",")[1]) for p in lines.first.get_attribute("points").split()]
    w = page.recording.params[:, 2]
    # the plotted line is w₁₂ at every step, scaled (the y axis points down; 0.1 px rounding)
    assert np.corrcoef(values, -w)[0, 1] > 0.9999
    dot = opened.page.locator("#wchart circle").first
    before = float(dot.get_attribute("cx"))
    opened.page.locator("#step").fill("25")
    assert float(dot.get_attribute("cx")) > before
    assert opened.page.locator("#losschart polyline").count() == 2


@pytest.mark.parametrize("width", [1300, 390])
def test_every_parameter_takes_a_click_and_reads_as_explain(browser, lecture, width):
    # a real click at the centre of the parameter's element, as a user (and playwright)
    # makes it: it fails when anything else covers that point, e.g. a label or a line
    # crossing the edge there
    net, X, T, page, path = lecture
    o = Opened(browser, path, width=width)
    try:
        for name in page.params:
            o.page.locator(f'[data-param="{name}"]').click(timeout=2000)
            assert o.derivation() == str(sp.explain(net, X[0], T[0], name)), name
    finally:
        o.close()


def test_click_a_node(opened, lecture):
    net, X, T, _, _ = lecture
    opened.page.locator('[data-node="k1[1]"]').click()
    text = opened.derivation()
    assert "∂l/∂k₂ = ∂l/∂y · ∂y/∂h₂ · ∂h₂/∂k₂" in text
    assert "= (−4) · (−2) · 0.0099\n" in text and "= 0.0792\n" in text
    assert "scalar engine's backward pass  0.0792" in text
    # an input: the sum over its three paths, and ∂l/∂k · W from the vectorized engine
    opened.page.locator('[data-node="x[0]"]').click()
    text = opened.derivation()
    dx = vectorized.nodes(net, X[:1], T[:1])["k1_grad"][0] @ net.weights(0)
    assert "chain rule (3 paths; they split at x₁)" in text
    assert f"sum = {dx[0]:.6g}".replace("-", "−") in text
    opened.page.locator('[data-node="loss"]').click()
    assert opened.derivation().startswith("l = 4 (squared loss of example #1 at step 0)")
    opened.page.locator('[data-node="t[0]"]').click()
    assert opened.derivation().startswith("t = 12.1: data")


def test_slider_follows_the_recorded_sgd(opened, lecture):
    net, X, T, page, _ = lecture
    opened.page.locator('[data-label="W0[1,0]"]').click()
    for s in (1, 17, 50):
        opened.page.locator("#step").fill(str(s))
        run = at_step(net, X, T, page, s)
        w = run.params[net.param_index("W0[1,0]")]
        # the derivation at step s is explain's at the step's parameters
        assert opened.derivation() == str(sp.explain(run, X[0], T[0], "W0[1,0]"))
        value = float(opened.page.evaluate("explorer.st.param('W0[1,0]', +step.value)"))
        assert value == pytest.approx(w, abs=1e-12)


def test_pick_another_example(opened, lecture):
    net, X, T, page, _ = lecture
    opened.page.locator("#step").fill("5")
    opened.page.select_option("#example", "3")
    opened.page.locator('[data-param="W1[0,2]"]').dispatch_event("click")
    run = at_step(net, X, T, page, 5)
    assert opened.derivation() == str(sp.explain(run, X[3], T[3], "W1[0,2]"))


def test_keyboard_steps_and_tabs(opened):
    opened.page.locator("#step").fill("3")
    opened.page.locator("h1").click()
    opened.page.keyboard.press("ArrowRight")
    assert opened.page.locator("#step").input_value() == "4"
    opened.page.keyboard.press("ArrowLeft")
    opened.page.keyboard.press("ArrowLeft")
    assert opened.page.locator("#step").input_value() == "2"
    opened.page.locator('[data-param="W0[0,0]"]').focus()
    opened.page.keyboard.press("Tab")
    focused = opened.page.evaluate("document.activeElement.getAttribute('data-param')")
    assert focused == "W0[0,1]"
    assert "∂l/∂w₂₁" in opened.derivation()


def test_screenshot_is_not_blank_and_fits_a_phone(browser, lecture):
    import matplotlib.image

    phone = Opened(browser, lecture[4], width=390)
    try:
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width                      # no sideways scrolling on a phone
        png = phone.page.screenshot(full_page=True)
    finally:
        phone.close()
    pixels = matplotlib.image.imread(io.BytesIO(png))
    assert pixels.std() > 0.05                           # not a blank page
    assert (pixels[..., :3].min(axis=-1) < 0.5).mean() > 0.01


@pytest.mark.parametrize("hidden, output, loss, sizes", [
    ("tanh", "softmax", "ce", [3, 4, 3]),
    ("relu", "sigmoid", "bce", [3, 4, 3, 2]),
    ("sigmoid", "softmax", "squared", [2, 3, 2]),
    ("sigmoid", "identity", "absolute", [2, 3, 1]),     # example 1 sits on the kink y = t
])
def test_page_derivations_read_as_explain_on_other_networks(browser, tmp_path, hidden, output,
                                                           loss, sizes):
    rng = np.random.default_rng(3)
    net = sp.MLP(sizes, hidden, output, loss, seed=3)
    X = rng.normal(size=(6, sizes[0]))
    K = sizes[-1]
    T = rng.integers(0, K, size=6) if loss == "ce" else (
        rng.integers(0, 2, size=(6, K)).astype(float) if loss == "bce" else rng.normal(size=(6, K)))
    if loss == "absolute":
        T[1] = net.predict(X[1])
    path = tmp_path / "net.html"
    page = sp.explore(net, X, T, path, steps=6, lr=0.1, examples=3)
    o = Opened(browser, path)
    kinks = 0
    try:
        for s, e in ((0, 1), (6, 2)):
            run = net.copy()
            run.params[:] = page.recording.params[s]
            for name in page.params:
                got = o.page.evaluate(
                    "([n, s, e]) => derivationText(explorer.st, derivationOf(explorer.st, n, s, e),"
                    " s, e)", [name, s, e])
                want = str(sp.explain(run, X[e], T[e], name))
                assert got == want, (name, s, e)
                kinks += "a kink within ±eps" in want
    finally:
        o.close()
    assert (kinks > 0) == (loss == "absolute")


def test_a_network_with_gaps_reads_as_explain_where_it_holds_the_units(browser, tmp_path):
    rng = np.random.default_rng(4)
    net = sp.MLP([9, 10, 8, 2], "tanh", "identity", "squared", seed=4)
    X, T = rng.normal(size=(4, 9)), rng.normal(size=(4, 2))
    path = tmp_path / "gaps.html"
    page = sp.explore(net, X, T, path, steps=3, examples=2, max_units=5)
    o = Opened(browser, path)                 # its self-check compares the chain and checks
    try:
        for name in ("W0[0,0]", "W1[2,3]", "b2[1]"):
            if name not in page.params:
                continue
            got = o.page.evaluate(
                "([n]) => derivationText(explorer.st, derivationOf(explorer.st, n, 2, 1), 2, 1)",
                [name])
            run = net.copy()
            run.params[:] = page.recording.params[2]
            want = str(sp.explain(run, X[1], T[1], name))
            head = want.split("\n\n")[:3]                 # the example, the chain, the table
            assert got.split("\n\n")[:3] == head, name
            if name.startswith("W0"):
                assert "drawn of 10 values" in got and "through drawn units" in got
    finally:
        o.close()
