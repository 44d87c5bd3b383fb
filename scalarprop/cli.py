"""The ``scalarprop`` command: one sub-command per module in :mod:`scalarprop.commands`.

Each command module offers ``add_parser(subparsers)`` and ``run(args) -> int``. A bad option
gets a one-line error and exit status 2; bad input found by the library (a ``ValueError``)
likewise.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: the sub-commands, each a module under scalarprop.commands, in the order --help lists them
COMMANDS = ("demo", "train", "check", "explain", "draw", "explore", "bench")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(2)


def build_parser() -> Parser:
    parser = Parser(prog="scalarprop",
                    description="Backpropagation you can run, read and measure.")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except ValueError as exc:
        sys.stderr.write(f"scalarprop {args.command}: error: {exc}\n")
        return 2
    except FloatingPointError as exc:      # training diverged: not bad input, a bad run
        sys.stderr.write(f"scalarprop {args.command}: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
