"""``scalarprop check``: both engines against finite differences, and against each other."""

from __future__ import annotations

import argparse

import numpy as np

from ..checks.gradcheck import check_gradients, compare_engines
from ..network import MLP
from ._common import add_network_options, random_targets


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="check the engines' gradients against finite differences",
        description="Build a network (default: the lecture's 2-3-1 sigmoid network), draw a "
                    "random batch, and check each engine's gradient against central finite "
                    "differences and the two engines against each other node by node. "
                    "Exits 1 when a check fails.")
    add_network_options(p)
    p.add_argument("--batch", type=int, default=4, help="examples in the random batch")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    p.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance")
    p.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance")
    p.add_argument("--engine", action="append", choices=["scalar", "vectorized", "autodiff"],
                   help="engine to check (repeatable; default scalar and vectorized)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.batch < 1:
        raise ValueError(f"--batch {args.batch}: need at least one example")
    net = MLP(args.sizes, args.hidden, args.output, args.loss, seed=args.seed)
    rng = np.random.default_rng(args.seed + 1)
    # non-zero biases: a zero bias puts many nodes exactly at a kink
    net.params[:] += rng.normal(scale=0.1, size=net.num_params)
    X = rng.normal(size=(args.batch, net.sizes[0]))
    T = random_targets(net, args.batch, rng)
    print(net)
    ok = True
    for engine in args.engine or ["scalar", "vectorized"]:
        result = check_gradients(net, X, T, engine=engine, eps=args.eps, atol=args.atol,
                                 rtol=args.rtol)
        print(result)
        print()
        ok &= result.ok
    cmp = compare_engines(net, X, T)
    print(cmp)
    agree = cmp.ok(1e-12)
    print(f"engines agree within 1e-12: {'yes' if agree else 'NO'}")
    return 0 if (ok and agree) else 1
