"""A first run says it is compiling, exactly when it compiles (not a timing test)."""

import io
import os
import subprocess
import sys

import numpy as np
from numba import njit

from scalarprop.commands.firstrun import announce_compiling

NOTE = "compiling the kernels (first run only, about"


def demo(cache_dir, tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    # stderr (where the note goes) merged into stdout, to see the order of the lines
    return subprocess.run([sys.executable, "-m", "scalarprop.cli", "demo", "--num-train", "40",
                           "--epochs", "1", "--no-plot"], env=env, cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)


def test_the_demo_says_so_on_an_empty_cache_and_not_on_the_second_run(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    first, second = demo(cache, tmp_path), demo(cache, tmp_path)
    assert first.returncode == 0, first.stdout
    assert second.returncode == 0, second.stdout
    assert first.stdout.count(NOTE) == 1
    # said before the kernels run, and the comparison still shows the same parameters
    lines = first.stdout.splitlines()
    note = next(i for i, line in enumerate(lines) if line.startswith(NOTE))
    assert note < next(i for i, line in enumerate(lines) if "engine, batch size" in line)
    assert NOTE not in second.stdout
    assert "agree within 1e-10" in second.stdout


def test_the_note_comes_with_a_compile_and_only_once():
    @njit(cache=False)
    def twice(x):
        return 2.0 * x

    @njit(cache=False)
    def thrice(x):
        return 3.0 * x

    out = io.StringIO()
    with announce_compiling(4, out):
        assert twice(1.0) == 2.0 and thrice(np.ones(2)).sum() == 6.0
    assert out.getvalue() == "compiling the kernels (first run only, about 4 s)\n"
    quiet = io.StringIO()
    with announce_compiling(4, quiet):
        twice(2.0)                    # compiled already: nothing to say
    assert quiet.getvalue() == ""
