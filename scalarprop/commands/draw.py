"""``scalarprop draw``: the network as the slides draw it, written to a PNG or SVG file."""

from __future__ import annotations

import argparse
import os

import numpy as np

from ..draw import MAX_UNITS, SHOWS
from ..engines import ENGINE_NAMES
from ..network import MLP
from ._common import add_network_options
from .check import random_targets

FORMATS = (".png", ".svg")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "draw", help="draw the network with its values, gradients or update directions",
        description="Draw a network as slides 41-53 do: inputs, each hidden unit split into k "
                    "and h, the output, the target and the loss, with one example's forward "
                    "values, its gradients, or the directions gradient descent moves each "
                    "weight. The network is the lecture's 2-3-1 example (--example lecture), "
                    "a saved model (--model), or a fresh one (--sizes, --seed, ...). Example: "
                    "scalarprop draw --example lecture --show gradients --weight w12 "
                    "--out net.png")
    p.add_argument("--example", choices=["lecture"], default=None,
                   help="the lecture's 2-3-1 sigmoid network with the slides' numbers and "
                        "example (x = (-1, 2), t = 12.1)")
    p.add_argument("--model", default=None, help="a network saved by `scalarprop train --save`")
    add_network_options(p)
    # None: not given, so that conflicts with --example/--model can be told apart from defaults
    p.set_defaults(sizes=None, hidden=None, output=None, loss=None, seed=None)
    p.add_argument("--x", default=None,
                   help="the example's input, comma-separated (default: a seeded random one)")
    p.add_argument("--t", default=None,
                   help="its target, comma-separated (a class index for the ce loss)")
    p.add_argument("--no-example", action="store_true",
                   help="draw the weights alone, without an example (--show values only)")
    p.add_argument("--weight", default=None,
                   help="highlight this parameter's paths to the loss and print its chain of "
                        "local derivatives: W0[1,0], b1[0], or in a 2-layer net the lecture's "
                        "w12, v2, b2, c")
    p.add_argument("--show", choices=SHOWS, default="values",
                   help="values (forward pass), gradients (dl/dnode, dl/dw) or updates "
                        "(the gradient descent direction of every weight); default values")
    p.add_argument("--engine", choices=list(ENGINE_NAMES), default="scalar",
                   help="engine computing the numbers (default scalar)")
    p.add_argument("--max-units", type=int, default=MAX_UNITS,
                   help=f"draw wider layers with a gap, keeping the strongest units "
                        f"(default {MAX_UNITS})")
    p.add_argument("--dpi", type=int, default=120, help="resolution of a PNG (default 120)")
    p.add_argument("--out", default="network.png",
                   help="the file to write: .png or .svg (default network.png)")
    p.set_defaults(run=run)


def _numbers(text: str, option: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in text.replace(" ", "").split(",") if v])
    except ValueError:
        raise ValueError(f"{option} {text!r}: expected comma-separated numbers such as "
                         "-1,2") from None


def _network(args: argparse.Namespace) -> tuple[MLP, np.ndarray | None, np.ndarray | None]:
    """The network, and the lecture's example when it is the lecture's network."""
    given = [f"--{n}" for n in ("sizes", "hidden", "output", "loss")
             if getattr(args, n) is not None]
    if args.example is not None and args.model is not None:
        raise ValueError("--example and --model: give one of them")
    if args.example == "lecture" or args.model is not None:
        if given:
            source = "--example lecture" if args.example else "--model"
            raise ValueError(f"{', '.join(given)}: {source} fixes the network; drop the option")
    if args.example == "lecture":
        from ..examples import lecture_network

        return lecture_network()
    if args.model is not None:
        return MLP.load(args.model), None, None
    net = MLP(args.sizes or [2, 3, 1], args.hidden or "sigmoid", args.output or "identity",
              args.loss or "squared", seed=args.seed or 0)
    return net, None, None


def run(args: argparse.Namespace) -> int:
    from ..draw import draw

    ext = os.path.splitext(args.out)[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"--out {args.out!r}: expected a file name ending in .png or .svg")
    if args.dpi < 10:
        raise ValueError(f"--dpi {args.dpi}: expected at least 10")
    net, x, t = _network(args)
    if args.no_example:
        if args.x is not None or args.t is not None or args.weight is not None:
            raise ValueError("--no-example: drop --x, --t and --weight (they need an example)")
        x = t = None
    else:
        rng = np.random.default_rng((args.seed or 0) + 1)
        if args.x is not None:
            x = _numbers(args.x, "--x")
            if x.shape[0] != net.sizes[0]:
                raise ValueError(f"--x {args.x!r}: the network has {net.sizes[0]} inputs, got "
                                 f"{x.shape[0]} numbers")
        elif x is None:
            x = rng.normal(size=net.sizes[0])
        if args.t is not None:
            t = _numbers(args.t, "--t")
        elif t is None:
            t = random_targets(net, 1, rng)[0]
    fig = draw(net, x, t, weight=args.weight, show=args.show, engine=args.engine,
               max_units=args.max_units)
    import matplotlib

    try:
        # no date and fixed ids in an SVG: the same network and example give the same file
        with matplotlib.rc_context({"svg.hashsalt": "scalarprop"}):
            fig.savefig(args.out, dpi=args.dpi,
                        metadata={"Date": None} if ext == ".svg" else None)
    except OSError as exc:
        raise ValueError(f"--out {args.out!r}: cannot write the file ({exc})") from None
    sizes = "-".join(map(str, net.sizes))
    example = ("no example" if x is None else
               f"x = {np.array2string(np.asarray(x), precision=3)}" if net.sizes[0] <= 8 else
               f"an example with {net.sizes[0]} inputs")
    print(f"wrote {args.out}: {sizes} network, {example}, show {args.show}"
          + (f", weight {args.weight}" if args.weight else ""))
    return 0
