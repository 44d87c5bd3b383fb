"""``scalarprop bench``: what vectorizing buys, and how far compiled loops close the gap."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="benchmark the engines (time per example of a training step)",
        description="Time one training step (forward + backward + update) per example for "
                    "pure Python, the scalar engine (Numba), the vectorized engine (numpy), "
                    "autodiff and PyTorch (when installed) on the lecture's 2-3-1 network, "
                    "2-16-1, 64-64-10, 784-128-10 and a hidden-width sweep. Writes "
                    "bench.json, bench.md and bench.png and prints the table.")
    p.add_argument("--quick", action="store_true",
                   help="fewer sizes, examples and repeats: a smoke test under a minute")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/torch threads (default 1: compare algorithms, not cores)")
    p.add_argument("--out", default="bench-results",
                   help="directory for bench.json, bench.md, bench.png (default bench-results)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..bench import run_suite

    if args.threads < 1:
        raise ValueError(f"--threads {args.threads}: expected a positive integer")
    results = run_suite(quick=args.quick, threads=args.threads, out_dir=args.out,
                        progress=False if args.no_progress else None)
    print(results["table"])
    print(f"\nwrote {args.out}/bench.json, {args.out}/bench.md"
          + (f", {results['plot']}" if results.get("plot") else " (no plot: matplotlib missing)")
          + f" in {results['elapsed_s']:.0f} s")
    return 0
