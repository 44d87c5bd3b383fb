"""A first run says it is compiling, exactly when it compiles, with how long that took the
last time on this machine (not a timing test: the figure is checked against the record the
run itself wrote)."""

import io
import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
from numba import njit

from scalarprop.commands.firstrun import COMPILE_SECONDS, RECORD, announce_compiling, cpu_target

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTE = re.compile(r"^compiling the kernels \(first run only, about (\d+) s\)$", re.MULTILINE)


def demo(cache_dir, tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    # stderr (where the note goes) merged into stdout, to see the order of the lines
    return subprocess.run([sys.executable, "-m", "scalarprop.cli", "demo", "--num-train", "40",
                           "--epochs", "1", "--no-plot"], env=env, cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)


def test_the_demo_says_so_on_an_empty_cache_with_the_figure_measured_here(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    record = cache / "scalarprop" / RECORD
    first = demo(cache, tmp_path)
    assert first.returncode == 0, first.stdout
    # nothing recorded yet: the benchmark's figure, said once, before the kernels run
    assert [int(n) for n in NOTE.findall(first.stdout)] == [COMPILE_SECONDS]
    lines = first.stdout.splitlines()
    note = next(i for i, line in enumerate(lines) if NOTE.match(line))
    assert note < next(i for i, line in enumerate(lines) if "engine, batch size" in line)
    # the run recorded its compile: more than nothing, less than the demo's own figure
    # for its compile and cache load (which also runs the first steps)
    measured = json.loads(record.read_text())[cpu_target()]["demo"]
    demo_says = float(re.search(r"Numba compile or cache load: ([\d.]+) s", first.stdout)[1])
    assert 0 < measured <= demo_says + 0.05

    second = demo(cache, tmp_path)                  # warm: nothing to say, nothing recorded
    assert second.returncode == 0, second.stdout
    assert not NOTE.search(second.stdout) and "agree within 1e-10" in second.stdout
    assert json.loads(record.read_text())[cpu_target()]["demo"] == measured

    # an emptied cache (an upgrade, an edit): the note gives the figure measured here
    for folder in (cache / "scalarprop").iterdir():
        if folder.is_dir():
            shutil.rmtree(folder)
    third = demo(cache, tmp_path)
    assert third.returncode == 0, third.stdout
    assert [int(n) for n in NOTE.findall(third.stdout)] == [max(1, round(measured))]


def test_the_note_comes_with_a_compile_only_once_and_gives_the_recorded_figure(tmp_path):
    @njit(cache=False)
    def twice(x):
        return 2.0 * x

    @njit(cache=False)
    def thrice(x):
        return 3.0 * x

    record, empty = tmp_path / RECORD, tmp_path / "empty-cache"
    empty.mkdir()
    record.write_text(json.dumps({cpu_target(): {"explain": 17.4, "demo": 3.0}}))
    out = io.StringIO()
    with announce_compiling("explain", out, record, empty):
        assert twice(1.0) == 2.0 and thrice(np.ones(2)).sum() == 6.0
    assert out.getvalue() == "compiling the kernels (first run only, about 17 s)\n"
    # the two compiles replace the figure; the other command's stays
    figures = json.loads(record.read_text())[cpu_target()]
    assert 0 < figures["explain"] < 17.4 and figures["demo"] == 3.0
    quiet = io.StringIO()
    with announce_compiling("explain", quiet, record, empty):
        twice(2.0)                    # compiled already: nothing to say, nothing recorded
    assert quiet.getvalue() == "" and json.loads(record.read_text())[cpu_target()] == figures


def test_without_a_record_or_with_a_damaged_one_the_note_gives_the_benchmark_figure(tmp_path):
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    for content in (None, "not json", json.dumps({cpu_target(): {"train": "x"}}),
                    json.dumps({cpu_target(): {"train": float("nan")}}), "[1, 2]"):
        record = tmp_path / RECORD
        if content is not None:
            record.write_text(content)

        @njit(cache=False)
        def once(x):
            return x + 1.0

        out = io.StringIO()
        with announce_compiling("train", out, record, empty):
            once(1.0)
        assert out.getvalue() == f"compiling the kernels (first run only, about " \
                                 f"{COMPILE_SECONDS} s)\n", content
        record.unlink()


def test_the_figure_before_any_record_is_the_benchmarks_cold_demo_compile():
    measured = []
    for name in ("bench-avx512.json", "bench-avx2.json"):
        results = json.loads((ROOT / "benchmarks" / name).read_text())
        measured.append(results["compile"]["demo_cold_compile_s"])
    assert COMPILE_SECONDS == math.ceil(max(measured)), measured


def test_a_compile_that_fails_or_is_interrupted_records_nothing(tmp_path):
    import pytest
    from numba.core.errors import TypingError

    @njit(cache=False)
    def broken(x):
        return x.no_such_attribute

    record, empty = tmp_path / RECORD, tmp_path / "empty-cache"
    empty.mkdir()
    with pytest.raises(TypingError):
        with announce_compiling("draw", io.StringIO(), record, empty):
            broken(1.0)
    assert not record.exists()

    @njit(cache=False)
    def fine(x):
        return x - 1.0

    with pytest.raises(KeyboardInterrupt):
        with announce_compiling("draw", io.StringIO(), record, empty):
            fine(1.0)
            raise KeyboardInterrupt       # Ctrl-C before the command's other compiles
    assert not record.exists()


def test_a_compile_into_a_partly_filled_cache_is_not_recorded(tmp_path):
    # after another command cached some kernels, a compile is shorter than a first run's:
    # the note keeps the first run's figure
    @njit(cache=False)
    def partly(x):
        return x * 5.0

    record, cache = tmp_path / RECORD, tmp_path / "cache"
    (cache / "engines").mkdir(parents=True)
    (cache / "engines" / "scalar.forward-1.py311.nbi").write_bytes(b"")
    record.write_text(json.dumps({cpu_target(): {"explain": 6.0}}))
    out = io.StringIO()
    with announce_compiling("explain", out, record, cache):
        partly(1.0)
    assert out.getvalue() == "compiling the kernels (first run only, about 6 s)\n"
    assert json.loads(record.read_text())[cpu_target()] == {"explain": 6.0}
