"""The one progress bar: tqdm when wanted and installed, else silent."""

import sys

import pytest

from scalarprop.progress import Silent, progress_bar

tqdm_auto = pytest.importorskip("tqdm.auto")


def test_a_bar_is_shown_only_when_wanted_and_possible(monkeypatch):
    assert isinstance(progress_bar(5, "x", "step", show=False), Silent)
    assert isinstance(progress_bar(0, "x", "step", show=True), Silent)      # nothing to count
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert isinstance(progress_bar(5, "x", "step"), Silent)                 # not a terminal
    with progress_bar(5, "x", "step", show=True) as bar:
        assert isinstance(bar, tqdm_auto.tqdm)
        bar.update()
        assert bar.n == 1
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)                     # not installed
    assert isinstance(progress_bar(5, "x", "step", show=True), Silent)


def test_the_silent_bar_takes_every_call():
    with Silent() as bar:
        bar.update()
        bar.update(3)
        bar.set_postfix(loss="0.1")
