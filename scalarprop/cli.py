"""The ``scalarprop`` command: one sub-command per module in :mod:`scalarprop.commands`.

Each command module offers ``add_parser(subparsers)`` and ``run(args) -> int``. A bad option
gets a one-line error and exit status 2; bad input found by the library (a ``ValueError``)
likewise. No command ends in a traceback: every error is one line (``--debug`` adds the
traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings

from .commands.firstrun import NOTE_ON_STDOUT, announce_compiling
from .commands.interrupts import interrupts_outside

#: the sub-commands, each a module under scalarprop.commands, in the order --help lists them
COMMANDS = ("demo", "train", "check", "explain", "draw", "explore", "bench")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(2)


def build_parser() -> Parser:
    parser = Parser(prog="scalarprop",
                    description="Backpropagation you can run, read and measure.",
                    epilog="--debug (anywhere on the line): show the traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMANDS:
        try:
            mod = importlib.import_module(f"scalarprop.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"scalarprop.commands.{module}":
                raise
            continue  # a command not (yet) present in this build
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Every error is one line on stderr (``--debug``, anywhere on the line:
    the traceback too): exit status 2 for bad input or a bad file, 1 for a failed run (a
    diverged training, a full disk), 130 for Ctrl-C."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    command = next((a for a in argv if not a.startswith("-")), "")
    try:
        with warnings.catch_warnings():
            if not debug:
                # a diverging run's overflow warnings would bury the one line that matters
                warnings.simplefilter("ignore")
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return 2
            # a first run compiles the kernels: said once, when it starts
            stream = sys.stdout if args.command in NOTE_ON_STDOUT else sys.stderr
            # Ctrl-C inside LLVM would be swallowed by a callback: held until it is out
            with interrupts_outside(), announce_compiling(args.command, stream):
                return int(args.run(args) or 0)
    except SystemExit:
        raise
    except BaseException as exc:        # noqa: B036  (Ctrl-C and MemoryError are told too)
        if debug:
            traceback.print_exc()
        status, text = describe_error(exc)
        sys.stderr.write(f"scalarprop{' ' + command if command else ''}: {text}\n")
        return status


def describe_error(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one line that tell the user about ``exc``."""
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    if isinstance(exc, ValueError):
        return 2, f"error: {one_line(exc)}"
    if isinstance(exc, FloatingPointError):  # training diverged: not bad input, a bad run
        return 1, one_line(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return 1, f"error: {where}{exc.strerror or one_line(exc)}"
    if isinstance(exc, MemoryError):
        return 1, "error: out of memory"
    return 1, (f"internal error: {type(exc).__name__}: {one_line(exc)} (run again with "
               "--debug for the traceback, and please report it)")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
