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
    p.add_argument("--compare", nargs="+", metavar="JSON",
                   help="print the targets of earlier runs' bench.json files side by side "
                        "(nothing is measured)")
    p.add_argument("--avx2", action="store_true",
                   help="run the suite on the AVX2 path of an AVX-512 machine: OpenBLAS, "
                        "numpy, Numba (with its own cache folder) and PyTorch on their AVX2 "
                        "kernels, as on a machine without AVX-512")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from ..bench import run_suite

    if args.threads < 1:
        raise ValueError(f"--threads {args.threads}: expected a positive integer")
    if args.compare:
        import json

        from ..bench.report import targets_table

        runs = []
        for path in args.compare:
            if not os.path.isfile(path):         # a directory, a pipe, a device, nothing
                raise ValueError(f"--compare {path}: not a file (a bench.json is expected)")
            try:
                with open(path) as f:
                    runs.append(json.load(f))
            except (OSError, ValueError) as exc:
                raise ValueError(f"--compare {path}: cannot read a bench.json ({exc})") from None
            if not (isinstance(runs[-1], dict) and isinstance(runs[-1].get("machine"), dict)
                    and isinstance(runs[-1].get("sizes"), dict)):
                raise ValueError(f"--compare {path}: not a bench.json written by scalarprop "
                                 "bench (no 'machine' and 'sizes' tables)")
        try:
            table = targets_table(runs)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # a file from an older version, or edited: one line, not a traceback
            raise ValueError(f"--compare {' '.join(args.compare)}: a file lacks the figures "
                             f"the targets need ({type(exc).__name__}: {exc})") from None
        print(table)
        return 0
    if args.avx2:
        return run_on_avx2(args)
    results = run_suite(quick=args.quick, threads=args.threads, out_dir=args.out,
                        progress=False if args.no_progress else None)
    print(results["table"])
    print(f"\nwrote {args.out}/bench.json, {args.out}/bench.md"
          + (f", {results['plot']}" if results.get("plot") else " (no plot: matplotlib missing)")
          + f" in {results['elapsed_s']:.0f} s")
    return 0


def run_on_avx2(args: argparse.Namespace) -> int:
    """The same suite in a child process whose libraries load with their AVX2 kernels (the
    switches must be set before OpenBLAS, numpy and Numba load)."""
    import os
    import subprocess
    import sys
    import tempfile

    from ..bench.machine import avx2_env

    argv = ["bench", "--threads", str(args.threads), "--out", args.out]
    argv += ["--quick"] * args.quick + ["--no-progress"] * args.no_progress
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, **avx2_env(), NUMBA_CACHE_DIR=cache)
        print("AVX2 path: " + " ".join(f"{k}={v}" for k, v in avx2_env().items()), flush=True)
        return subprocess.run([sys.executable, "-m", "scalarprop.cli", *argv],
                              env=env).returncode
