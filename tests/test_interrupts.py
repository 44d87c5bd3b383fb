"""Ctrl-C while the kernels compile: one line, exit status 130, nothing lost; an interrupt
that lands inside LLVM's bindings is held until it is out (never swallowed by a callback)."""

import os
import signal
import subprocess
import sys
import threading
import time

import llvmlite.binding.executionengine
import numpy as np
import pytest

from scalarprop import MLP
from scalarprop.commands.interrupts import LLVMLITE_DIR, interrupts_outside

BINDING = '''
import signal

def call_into_c(work):
    signal.raise_signal(signal.SIGINT)      # Ctrl-C arrives while "LLVM" runs
    return work()
'''


@pytest.fixture
def binding(tmp_path, monkeypatch):
    """A stand-in for llvmlite: a module in a folder of its own."""
    folder = tmp_path / "fakebinding"
    folder.mkdir()
    (folder / "fake_llvm.py").write_text(BINDING)
    monkeypatch.syspath_prepend(str(folder))
    import fake_llvm
    yield str(folder), fake_llvm
    sys.modules.pop("fake_llvm", None)


def wait_for_interrupt(seconds=2.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.005)
    raise AssertionError("the held Ctrl-C never came")


def test_ctrl_c_inside_the_bindings_is_held_until_they_return(binding):
    folder, fake_llvm = binding
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_outside(folder):
            # the whole call runs, although Ctrl-C came at its start
            finished.append(fake_llvm.call_into_c(lambda: sum(range(200_000))))
            wait_for_interrupt()
    assert finished == [sum(range(200_000))]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_elsewhere_is_raised_at_once(binding):
    folder, _ = binding
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_outside(folder):
            signal.raise_signal(signal.SIGINT)
            reached.append(sum(range(200_000)))
    assert reached == []


def test_a_held_ctrl_c_is_not_lost_when_the_block_ends_first(binding):
    folder, fake_llvm = binding
    with pytest.raises(KeyboardInterrupt):
        with interrupts_outside(folder):
            fake_llvm.call_into_c(lambda: None)     # the block ends before the retry
    time.sleep(0.2)                                 # and no late interrupt comes after it


def test_outside_the_main_thread_or_with_the_programs_own_handler_nothing_changes(binding):
    folder, _ = binding
    seen = []

    def in_thread():
        with interrupts_outside(folder):
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert seen == [signal.default_int_handler]

    def own(signum, frame):
        seen.append(signum)

    previous = signal.signal(signal.SIGINT, own)
    try:
        with interrupts_outside(folder):
            assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


def test_llvms_callbacks_are_inside_the_held_folder():
    assert os.path.abspath(llvmlite.binding.executionengine.__file__).startswith(LLVMLITE_DIR)


def test_ctrl_c_during_the_first_compile_of_train_is_one_line_and_saves(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    p = subprocess.Popen([sys.executable, "-m", "scalarprop.cli", "train", "--epochs", "3",
                          "--save", "m.npz", "--no-progress"], env=env, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.startswith("compiling the kernels"):
            break
    time.sleep(0.5)                                 # well inside the compile
    p.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (out, err)
    assert time.monotonic() - sent < 3
    assert err == ("scalarprop train: interrupted in epoch 1; the parameters after epoch 0 "
                   "(the initial ones) are saved to m.npz\n")
    assert "epoch" not in out.replace("epochs", "")          # no epoch finished
    start = MLP([2, 16, 2], "sigmoid", "softmax", "ce", seed=0)
    np.testing.assert_array_equal(MLP.load(tmp_path / "m.npz").params, start.params)
