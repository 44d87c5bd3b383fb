"""What several commands share: the network's options, where the network comes from, and the
example's numbers."""

from __future__ import annotations

import argparse

import numpy as np

from ..functions import HIDDEN, LOSSES, OUTPUT
from ..network import MLP

#: the defaults of add_network_options
DEFAULTS = {"sizes": [2, 3, 1], "hidden": "sigmoid", "output": "identity", "loss": "squared",
            "seed": 0}


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


#: what a command that fits the network to its data (``train``) says instead of a default
FROM_DATA = {"sizes": "input width, 16, number of classes",
             "output": "softmax for classes, else identity",
             "loss": "ce for classes, else squared"}


def add_network_options(p: argparse.ArgumentParser, sizes: str = "2,3,1",
                        output: str = "identity", loss: str = "squared", *,
                        from_data: bool = False,
                        seed_help: str = "initialisation seed") -> None:
    """``--sizes``, ``--hidden``, ``--output``, ``--loss`` and ``--seed``. ``from_data``: the
    command fits sizes, output and loss to its data, so they default to None."""

    def default(name: str, value: str) -> str:
        return f"default: {FROM_DATA[name]}" if from_data else f"default {value}"

    p.add_argument("--sizes", type=parse_sizes,
                   default=None if from_data else parse_sizes(sizes),
                   help=f"layer widths, input first, e.g. 64,32,10 ({default('sizes', sizes)})")
    p.add_argument("--hidden", choices=sorted(HIDDEN), default="sigmoid",
                   help="hidden activation (default sigmoid)")
    p.add_argument("--output", choices=sorted(OUTPUT), default=None if from_data else output,
                   help=f"output activation ({default('output', output)})")
    p.add_argument("--loss", choices=sorted(LOSSES), default=None if from_data else loss,
                   help=f"loss function ({default('loss', loss)})")
    p.add_argument("--seed", type=int, default=0, help=f"{seed_help} (default 0)")


def parse_values(text: str, option: str) -> np.ndarray:
    """``"1,-2.5"`` -> ``array([1., -2.5])``, or a ValueError naming the option."""
    try:
        return np.array([float(v) for v in text.replace(" ", "").split(",") if v])
    except ValueError:
        raise ValueError(f"{option} {text!r}: expected comma-separated numbers such as "
                         "1,-2.5") from None


def random_targets(net: MLP, n: int, rng: np.random.Generator) -> np.ndarray:
    """Targets of the kind the network's loss expects."""
    K = net.sizes[-1]
    if net.loss == "ce":
        return rng.integers(0, K, size=n)
    if net.loss == "bce":
        return rng.integers(0, 2, size=(n, K)).astype(float)
    if net.loss == "hinge":
        return rng.choice([-1.0, 1.0], size=(n, 1))
    return rng.normal(size=(n, K))


def add_source_options(p: argparse.ArgumentParser) -> None:
    """Where the network comes from: ``--example lecture``, ``--model FILE.npz``, or the
    network options (left None when not given, so that a conflict can be told)."""
    p.add_argument("--example", choices=["lecture"], default=None,
                   help="the lecture's 2-3-1 sigmoid network with the slides' numbers and "
                        "example (x = (-1, 2), t = 12.1)")
    p.add_argument("--model", metavar="FILE.npz", default=None,
                   help="a network written by MLP.save or `scalarprop train --save`")
    add_network_options(p)
    p.set_defaults(sizes=None, hidden=None, output=None, loss=None, seed=None)


def build_network(args: argparse.Namespace, seed_picks_example: bool = False
                  ) -> tuple[MLP, np.ndarray | None, np.ndarray | None]:
    """The network, with the lecture's example ``(x, t)`` for ``--example lecture`` (else
    None, None). ``seed_picks_example``: the command draws a random example from ``--seed``,
    so a seed is meaningful beside ``--model``."""
    if args.example is not None and args.model is not None:
        raise ValueError("--example and --model: give one of them")
    if args.example is not None or args.model is not None:
        given = [f"--{n}" for n in ("sizes", "hidden", "output", "loss")
                 if getattr(args, n) is not None]
        if args.seed is not None and (args.example is not None or not seed_picks_example):
            given.append("--seed")
        if given:
            source = "--example lecture" if args.example else "--model"
            raise ValueError(f"{', '.join(given)}: {source} fixes the network; drop the option")
    if args.example == "lecture":
        from ..examples import lecture_network

        return lecture_network()
    if args.model is not None:
        return MLP.load(args.model), None, None
    pick = {n: DEFAULTS[n] if getattr(args, n) is None else getattr(args, n) for n in DEFAULTS}
    return MLP(pick["sizes"], pick["hidden"], pick["output"], pick["loss"],
               seed=pick["seed"]), None, None
