"""Ctrl-C while Numba compiles: answered, but never inside LLVM.

Numba compiles with LLVM through llvmlite, whose C++ code calls back into Python (its object
cache, for one). A ``KeyboardInterrupt`` raised inside such a callback cannot leave it: ctypes
prints it as "Exception ignored ... Traceback" and swallows it, and Numba then fails with an
unrelated ``RuntimeError``. So while the command runs, Ctrl-C that lands inside llvmlite is
held and delivered again shortly after (:data:`RETRY_SECONDS`), until it lands in plain Python
code, where it stops the command as any interrupt does (``train`` at a step boundary, the
others with one line). Elsewhere Ctrl-C is raised at once, as Python's own handler does.
"""

from __future__ import annotations

import _thread
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import llvmlite

#: llvmlite's own folder: a frame of a file in it means the interrupt landed inside LLVM's
#: bindings (a C++ call, a callback from it, or the lock around them)
LLVMLITE_DIR = os.path.dirname(os.path.abspath(llvmlite.__file__))
#: how soon a held Ctrl-C is delivered again (LLVM's calls are short; a compile is not)
RETRY_SECONDS = 0.05


def inside(frame: FrameType | None, folder: str) -> bool:
    """Whether any frame on the stack from ``frame`` up runs a file under ``folder``."""
    prefix = folder.rstrip(os.sep) + os.sep
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename).startswith(prefix):
            return True
        frame = frame.f_back
    return False


@contextmanager
def interrupts_outside(folder: str = LLVMLITE_DIR) -> Iterator[None]:
    """Inside the block, Ctrl-C (SIGINT) raises ``KeyboardInterrupt`` only where no frame of
    a file under ``folder`` is running (see the module docstring). Only the main thread can
    set a signal handler, and a handler the program set itself is left alone: in either case
    the block runs unchanged."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return

    held: list[threading.Timer] = []          # the retry of a held Ctrl-C, if one waits

    def handler(signum: int, frame: FrameType | None) -> None:
        held.clear()
        if inside(frame, folder):
            retry = threading.Timer(RETRY_SECONDS, _thread.interrupt_main)
            retry.daemon = True
            held.append(retry)
            retry.start()
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for retry in held:
            retry.cancel()
    if held:                # the block ended before a held Ctrl-C could be delivered
        raise KeyboardInterrupt
