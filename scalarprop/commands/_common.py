"""Options shared by several commands: the network's sizes, activations and loss."""

from __future__ import annotations

import argparse

from ..functions import HIDDEN, LOSSES, OUTPUT


def parse_sizes(text: str) -> list[int]:
    """``"64,32,10"`` -> ``[64, 32, 10]``, or an argparse error."""
    try:
        sizes = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated layer widths such as 2,3,1") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: need at least two positive widths (input and output), e.g. 2,3,1")
    return sizes


def add_network_options(p: argparse.ArgumentParser, sizes: str = "2,3,1",
                        output: str = "identity", loss: str = "squared") -> None:
    p.add_argument("--sizes", type=parse_sizes, default=parse_sizes(sizes),
                   help=f"layer widths, input first (default {sizes})")
    p.add_argument("--hidden", choices=sorted(HIDDEN), default="sigmoid",
                   help="hidden activation (default sigmoid)")
    p.add_argument("--output", choices=sorted(OUTPUT), default=output,
                   help=f"output activation (default {output})")
    p.add_argument("--loss", choices=sorted(LOSSES), default=loss,
                   help=f"loss function (default {loss})")
    p.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")
