"""``scalarprop check``: engines against finite differences, and against each other."""

from __future__ import annotations

import argparse

import numpy as np

from ..checks.comparison import compare_engines
from ..checks.gradcheck import check_gradients
from ..engines import ENGINE_NAMES
from ..network import MLP
from .options import add_network_options, random_targets


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="check the engines' gradients against finite differences",
        description="Build a network (default: the lecture's 2-3-1 sigmoid network), draw a "
                    "random batch, and check each engine's gradient against central finite "
                    "differences and the two engines against each other node by node. "
                    "Exits 1 when a check fails.")
    add_network_options(p)
    p.add_argument("--batch", type=int, default=4, help="examples in the random batch")
    p.add_argument("--eps", type=float, default=None,
                   help="finite-difference step (default: chosen per parameter)")
    p.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance (with --rtol: the fixed rule |a - n| <= atol + "
                        "rtol |n|; default: each parameter held to its estimated error)")
    p.add_argument("--rtol", type=float, default=None, help="relative tolerance (see --atol)")
    p.add_argument("--engines", type=parse_engines, default=None, metavar="A,B",
                   help="engines to check and compare, e.g. autodiff,scalar (default "
                        "scalar,vectorized)")
    p.add_argument("--engine", action="append", choices=list(ENGINE_NAMES),
                   help="an engine to check (repeatable; the same as --engines)")
    p.set_defaults(run=run)


def parse_engines(text: str) -> list[str]:
    """``"autodiff,scalar"`` -> ``["autodiff", "scalar"]``, or an argparse error."""
    names = [n for n in text.replace(" ", "").split(",") if n]
    unknown = [n for n in names if n not in ENGINE_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated engine names from {', '.join(ENGINE_NAMES)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        # "scalar,scalar" would compare scalar with itself, or quietly with another engine
        raise argparse.ArgumentTypeError(f"{text!r}: {', '.join(twice)} named twice; name "
                                         "different engines to compare")
    return names


def pairs_to_compare(engines: list[str]) -> list[tuple[str, str]]:
    """The first engine against each other one; a single engine against a second one."""
    if len(engines) == 1:
        other = "scalar" if engines[0] == "vectorized" else "vectorized"
        return [(engines[0], other)]
    return [(engines[0], e) for e in engines[1:]]


def run(args: argparse.Namespace) -> int:
    if args.batch < 1:
        raise ValueError(f"--batch {args.batch}: need at least one example")
    if args.engines is not None and args.engine is not None:
        raise ValueError("--engines and --engine: give one of them")
    if args.engine is not None:
        try:
            parse_engines(",".join(args.engine))     # the same rule: no engine twice
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"--engine: {exc}") from None
    net = MLP(args.sizes, args.hidden, args.output, args.loss, seed=args.seed)
    rng = np.random.default_rng(args.seed + 1)
    # non-zero biases: a zero bias puts many nodes exactly at a kink
    net.params[:] += rng.normal(scale=0.1, size=net.num_params)
    X = rng.normal(size=(args.batch, net.sizes[0]))
    T = random_targets(net, args.batch, rng)
    print(net)
    ok = True
    engines = args.engines or args.engine or ["scalar", "vectorized"]
    for engine in engines:
        result = check_gradients(net, X, T, engine=engine, eps=args.eps, atol=args.atol,
                                 rtol=args.rtol)
        print(result)
        print()
        ok &= result.ok
    agree = True
    for pair in pairs_to_compare(engines):
        cmp = compare_engines(net, X, T, engines=pair)
        print(cmp)
        same = cmp.ok(1e-12)
        print(f"{pair[0]} and {pair[1]} agree within 1e-12: {'yes' if same else 'NO'}")
        agree &= same
    return 0 if (ok and agree) else 1
