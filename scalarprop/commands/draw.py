"""``scalarprop draw``: the network as the slides draw it, written to a PNG or SVG file."""

from __future__ import annotations

import argparse
import os

import numpy as np

from ..engines import ENGINE_NAMES
from ..files import atomic_write, check_writable
from ..plot.network import MAX_UNITS, SHOWS
from .options import add_source_options, build_network, parse_values, random_targets

FORMATS = (".png", ".svg")
MIN_DPI, MAX_DPI = 10, 1000


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
    add_source_options(p)
    p.add_argument("--x", default=None,
                   help="the example's input, comma-separated (default: a seeded random one)")
    p.add_argument("--t", default=None,
                   help="its target, comma-separated (a class index for the ce loss)")
    p.add_argument("--no-example", action="store_true",
                   help="draw the weights alone, without an example (--show values only)")
    p.add_argument("--weight", default=None,
                   help="highlight this parameter's paths to the loss and print its chain of "
                        "local derivatives: W0[1,0], b1[0], a flat index, or in a 2-layer net "
                        "the lecture's w12, v2, b2, c")
    p.add_argument("--show", choices=SHOWS, default="values",
                   help="values (forward pass), gradients (dl/dnode, dl/dw) or updates "
                        "(the gradient descent direction of every weight); default values")
    p.add_argument("--engine", choices=list(ENGINE_NAMES), default="scalar",
                   help="engine computing the numbers (default scalar)")
    p.add_argument("--max-units", type=int, default=MAX_UNITS,
                   help=f"draw wider layers with a gap, keeping the strongest units "
                        f"(default {MAX_UNITS})")
    p.add_argument("--dpi", type=int, default=120,
                   help=f"resolution of a PNG, {MIN_DPI} to {MAX_DPI} (default 120)")
    p.add_argument("--out", default="network.png",
                   help="the file to write: .png or .svg (default network.png)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..plot.network import draw

    ext = os.path.splitext(args.out)[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"--out {args.out!r}: expected a file name ending in .png or .svg")
    check_writable(args.out, "--out", ext)
    if not MIN_DPI <= args.dpi <= MAX_DPI:
        # the picture is a few inches wide: beyond this the PNG alone needs gigabytes
        raise ValueError(f"--dpi {args.dpi}: expected {MIN_DPI} to {MAX_DPI} dots per inch")
    net, x, t = build_network(args, seed_picks_example=True)
    if args.no_example:
        if args.x is not None or args.t is not None or args.weight is not None:
            raise ValueError("--no-example: drop --x, --t and --weight (they need an example)")
        x = t = None
    else:
        rng = np.random.default_rng((args.seed or 0) + 1)
        if args.x is not None:
            x = parse_values(args.x, "--x")
            if x.shape[0] != net.sizes[0]:
                raise ValueError(f"--x {args.x!r}: the network has {net.sizes[0]} inputs, got "
                                 f"{x.shape[0]} numbers")
        elif x is None:
            x = rng.normal(size=net.sizes[0])
        if args.t is not None:
            t = parse_values(args.t, "--t")
        elif t is None:
            t = random_targets(net, 1, rng)[0]
    fig = draw(net, x, t, weight=args.weight, show=args.show, engine=args.engine,
               max_units=args.max_units)
    import matplotlib

    try:
        # no date and fixed ids in an SVG: the same network and example give the same file
        with matplotlib.rc_context({"svg.hashsalt": "scalarprop"}), \
                atomic_write(args.out) as fh:
            fig.savefig(fh, format=ext[1:], dpi=args.dpi,
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
