"""The first run compiles the Numba kernels: say so, once, at the moment it starts, with how
long it took the last time.

Numba compiles a kernel on its first call and keeps the machine code in its cache (see
:mod:`scalarprop.jit`); later runs load it. Numba announces each compile it starts, after the
cache has missed (its ``numba:compile`` event), so a listener on that event speaks exactly
when compiling happens and never on a run that only loads the cache.

The figure in the note is measured. The listener times every compile of a command (from the
start of the outermost compile to its end) and, when the command compiled into an empty cache
(a first run, not one after another command cached part of the kernels), records the total
beside the cache folders (:data:`RECORD`, one figure per command and per CPU target Numba
compiles for), so the next first run of that command on this machine, after an upgrade or with
a cleared cache, says how long it took here. Before any record exists, the note uses
:data:`COMPILE_SECONDS`, the demo's compile from an empty cache as ``scalarprop bench``
measured it.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from numba.core import event

from .. import jit
from ..files import write_text

#: what ``scalarprop demo`` compiles from an empty cache (the fused SGD kernel and the
#: vectorized fast path's element-wise passes), in seconds, as ``scalarprop bench`` measured it
#: (``compile.demo_cold_compile_s`` in ``benchmarks/bench-avx512.json`` and ``bench-avx2.json``:
#: the larger, rounded up, so the note never promises too little; a test holds the two to it);
#: the note's figure until a compile here is recorded
COMPILE_SECONDS = 5
#: the file, beside the cache folders of every source hash, that records the last compile
RECORD = "compile-seconds.json"
#: the commands that say so among their own lines: text for a person to read as it comes.
#: The others say it on standard error, which keeps output that a program reads
#: (``explain --format json``) clean
NOTE_ON_STDOUT = ("demo", "train")


def record_path() -> Path:
    """Where compile times are recorded: beside the cache folders (one per source hash), so
    that a record outlives an edit or an upgrade, which starts a new, empty cache folder."""
    return jit.cache_dir().parent / RECORD


def cpu_target() -> str:
    """The CPU Numba compiles for (its name and features, as its cache index keys them): a
    compile for AVX2 (``NUMBA_CPU_NAME=haswell``) is timed apart from one for the host."""
    from numba.core.registry import cpu_target as target

    _, name, features = target.target_context.codegen().magic_tuple()
    # the features are a long list: a short hash of them tells two targets apart
    return f"{name} {hashlib.sha256(features.encode()).hexdigest()[:8]}"


def read_record(path: Path) -> dict[str, dict[str, float]]:
    """The recorded seconds by CPU target and command; a missing or damaged file is empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {cpu: {command: float(s) for command, s in figures.items()
                  if isinstance(s, (int, float)) and math.isfinite(s) and 0 <= s < 86400}
            for cpu, figures in data.items() if isinstance(figures, dict)}


def expected_seconds(command: str, path: Path) -> float:
    """How long this command's compile took the last time on this CPU, else the benchmark's
    figure for the demo."""
    return read_record(path).get(cpu_target(), {}).get(command, COMPILE_SECONDS)


def save_record(command: str, seconds: float, path: Path) -> None:
    """Record this command's compile time (atomically); a cache folder that cannot be written
    only costs the next note its measured figure."""
    data = read_record(path)
    data.setdefault(cpu_target(), {})[command] = round(seconds, 2)
    try:
        write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass


class _Announcer(event.Listener):
    """Prints the note on the first compile it hears of, and times every compile: ``seconds``
    sums the spans from the start of an outermost compile to its end."""

    def __init__(self, command: str, stream: IO[str], path: Path | None,
                 cache: Path | None) -> None:
        self.command, self.stream, self.path, self.cache = command, stream, path, cache
        self.cold = False
        self.said = False
        self.depth = 0
        self.started = 0.0
        self.seconds = 0.0
        self.failed = False
        self.handling: BaseException | None = None

    def on_start(self, ev: event.Event) -> None:
        if self.depth == 0:
            self.started = time.perf_counter()
            # a compile started inside an ``except`` block sees that exception as its own
            self.handling = sys.exc_info()[1]
        self.depth += 1
        if not self.said:
            self.said = True
            path = record_path() if self.path is None else self.path
            self.path = path
            # only a compile into an empty cache is timed for the record: one after others
            # cached part of the kernels is shorter, and the note must not promise that
            cache = jit.cache_dir() if self.cache is None else self.cache
            self.cold = not any(cache.rglob("*.nbi"))
            seconds = max(1, round(expected_seconds(self.command, path)))
            print(f"compiling the kernels (first run only, about {seconds} s)",
                  file=self.stream, flush=True)

    def on_end(self, ev: event.Event) -> None:
        self.depth -= 1
        # Numba hands the end event the exception that ended the compile, if any (its
        # Event.is_failed says the opposite in Numba 0.68), and calls it while that exception
        # is being handled: Ctrl-C or an error mid-compile leaves no whole figure to keep
        if sys.exc_info()[1] not in (None, self.handling):
            self.failed = True
        if self.depth == 0:
            self.seconds += time.perf_counter() - self.started


@contextmanager
def announce_compiling(command: str, stream: IO[str] | None = None,
                       record: Path | None = None, cache: Path | None = None
                       ) -> Iterator[None]:
    """Inside the block, the first kernel compile prints ``compiling the kernels (first run
    only, about N s)`` to ``stream`` (standard output) before it starts, N the last recorded
    compile of ``command`` (see the module docstring). When the block ends and every compile
    in it finished and the first began with an empty ``cache`` folder (default: the kernels'
    cache, :func:`scalarprop.jit.cache_dir`), their total is recorded in ``record`` (default
    :func:`record_path`)."""
    listener = _Announcer(command, sys.stdout if stream is None else stream, record, cache)
    interrupted = False
    try:
        with event.install_listener("numba:compile", listener):
            yield
    except KeyboardInterrupt:
        interrupted = True      # the compiles still to come are not in the total
        raise
    finally:
        if listener.said and listener.cold and listener.depth == 0 and \
                not (listener.failed or interrupted):
            save_record(command, listener.seconds, listener.path)
