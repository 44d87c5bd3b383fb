"""The first run compiles the Numba kernels: say so, once, at the moment it starts.

Numba compiles a kernel on its first call and keeps the machine code in its cache (see
:mod:`scalarprop.jit`); later runs load it. Numba announces each compile it starts, after the
cache has missed (its ``numba:compile`` event), so a listener on that event speaks exactly
when compiling happens and never on a run that only loads the cache.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from numba.core import event

#: what ``scalarprop demo`` compiles from an empty cache (the fused SGD kernel and the
#: vectorized fast path's element-wise passes), in seconds, as ``scalarprop bench`` measured it
#: on the project's kind of machine (``compile.demo_cold_compile_s`` in
#: ``benchmarks/bench-*.json``); the other commands compile a similar set
COMPILE_SECONDS = 4
#: the commands that say so among their own lines: text for a person to read as it comes.
#: The others say it on standard error, which keeps output that a program reads
#: (``explain --format json``) clean
NOTE_ON_STDOUT = ("demo", "train")


class _Announcer(event.Listener):
    """Prints the note on the first compile it hears of, then stays quiet."""

    def __init__(self, seconds: float, stream: IO[str]) -> None:
        self.seconds, self.stream, self.said = seconds, stream, False

    def on_start(self, ev: event.Event) -> None:
        if not self.said:
            self.said = True
            print(f"compiling the kernels (first run only, about {self.seconds:.0f} s)",
                  file=self.stream, flush=True)

    def on_end(self, ev: event.Event) -> None:
        pass


@contextmanager
def announce_compiling(seconds: float, stream: IO[str] | None = None) -> Iterator[None]:
    """Inside the block, the first kernel compile prints ``compiling the kernels (first run
    only, about N s)`` to ``stream`` (standard output) before it starts."""
    listener = _Announcer(seconds, sys.stdout if stream is None else stream)
    with event.install_listener("numba:compile", listener):
        yield
