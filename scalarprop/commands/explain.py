"""``scalarprop explain``: one weight's gradient as the chain of local derivatives (slides 41-53).

The network is the lecture's 2-3-1 example (``--example lecture``), a model saved with
``MLP.save`` (``--model net.npz``), or a fresh one from ``--sizes/--hidden/--output/--loss``
and ``--seed``. The example is ``--x 1,2`` and ``--t 0.5`` (a class index for ``ce``).
"""

from __future__ import annotations

import argparse
import json

from ..explain import MAX_PATHS, explain, valid_names
from .options import add_source_options, build_network, parse_values


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", help="derive one weight's gradient as the chain of local derivatives",
        description="Write ∂l/∂w for one example as the lecture does: the chain of local "
                    "derivatives with the numbers of one forward pass, every path from the "
                    "weight to the loss and their sum (or the accumulated form beyond "
                    "--max-paths paths), the value from both engines and a central finite "
                    "difference, and which way gradient descent moves the weight. Exits 1 "
                    "when the derivation and the engines disagree.",
        epilog="examples:  scalarprop explain w12 v2 --example lecture\n"
               "           scalarprop explain W0[1,0] --sizes 3,4,2 --hidden tanh --x 1,0,-1 "
               "--t 0.5,-0.5\n"
               "           scalarprop explain c --model net.npz --x 0.2,0.4 --t 1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weight", nargs="*",
                   help="parameter name (W0[1,0], b1[0]), flat index, or for one hidden layer "
                        "the lecture's w12 (input 1 to hidden 2), b2, v2, c")
    add_source_options(p)
    p.add_argument("--x", metavar="X1,X2,...", help="the example's inputs, comma-separated")
    p.add_argument("--t", metavar="T1,...", help="the target: values, or a class index for ce")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    p.add_argument("--max-paths", type=int, default=MAX_PATHS,
                   help=f"list every path up to this many (default {MAX_PATHS})")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text",
                   help="text (default), markdown with LaTeX, or json")
    p.add_argument("--list", action="store_true", help="list the valid weight names and exit")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    net, x, t = build_network(args)
    if args.list:
        print(net)
        print(valid_names(net))
        return 0
    if not args.weight:
        raise ValueError(f"name a weight to explain; {valid_names(net)}")
    if args.x is not None:
        x = parse_values(args.x, "--x")
    if args.t is not None:
        t = parse_values(args.t, "--t")
    if x is None or t is None:
        raise ValueError(f"give the example: --x with {net.sizes[0]} comma-separated inputs "
                         f"and --t with its target")
    results = [explain(net, x, t, w, eps=args.eps, max_paths=args.max_paths)
               for w in args.weight]
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in results] if len(results) > 1
                         else results[0].to_dict(), indent=2, ensure_ascii=False))
    else:
        texts = [r.to_markdown() if args.format == "markdown" else str(r) for r in results]
        print(("\n\n" + "-" * 72 + "\n\n").join(texts))
    return 0 if all(r.agrees() for r in results) else 1
