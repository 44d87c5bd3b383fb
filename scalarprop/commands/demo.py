"""``scalarprop demo``: the main job, on built-in data with nothing to download.

Trains the lecture's kind of network (one sigmoid hidden layer) on the course's synthetic
data with both engines from the same start, shows that they reach the same parameters, checks
the gradient against finite differences, and reports accuracy, loss per epoch, and time per
example for each engine with the ratio. Writes the loss curves as a PNG.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ..checks.gradcheck import check_gradients
from ..data import load_synth
from ..files import atomic_write, check_writable
from ..network import MLP
from ..train import train

#: the loss-curve picture's formats
PLOT_FORMATS = (".png", ".svg")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="train a sigmoid network on built-in data with both engines",
        description="Train a 2-16-2 sigmoid/softmax network with the cross-entropy loss on the "
                    "course's synthetic data by stochastic gradient descent, once with the "
                    "scalar (Numba) engine and once with the vectorized (numpy) engine from "
                    "the same start; compare parameters, check gradients against finite "
                    "differences, report accuracy, loss and time per example, and plot the "
                    "loss curves.")
    p.add_argument("--num-train", type=int, default=10_000,
                   help="training examples drawn from load_synth (default 10000)")
    p.add_argument("--epochs", type=int, default=5, help="passes over the data (default 5)")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    p.add_argument("--hidden-units", type=int, default=16, help="hidden width (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed for data, init, order")
    p.add_argument("--out", default="scalarprop-demo-loss.png",
                   help="where to write the loss-curve PNG (default ./scalarprop-demo-loss.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for name in ("num_train", "epochs", "hidden_units"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(args, name)}: expected >= 1")
    if not args.no_plot:
        # the plot comes last: a place it cannot be written is told before the work
        args.out = check_writable(args.out, "--out", ".png")
        if os.path.splitext(args.out)[1].lower() not in PLOT_FORMATS:
            raise ValueError(f"--out {args.out!r}: expected a file name ending in .png or .svg")
    t_start = time.perf_counter()
    (X, T), (Xv, Tv), K = load_synth(num_train=args.num_train, num_val=2_000, seed=args.seed)
    print(f"scalarprop demo: {len(X)} training and {len(Xv)} validation examples of the "
          "course's synthetic data (label: xᵀQx > 0.6)")
    start = MLP([2, args.hidden_units, K], hidden="sigmoid", output="softmax", loss="ce",
                seed=args.seed)
    print(f"network 2-{args.hidden_units}-{K}: sigmoid hidden layer, softmax output, "
          f"cross-entropy loss ({start.num_params} parameters); stochastic gradient descent "
          f"(batch 1), lr {args.lr:g}, {args.epochs} epochs\n")

    # compile (or load from the cache) outside the timed runs (cli says so on a first run)
    t0 = time.perf_counter()
    for engine in ("scalar", "vectorized"):
        train(start.copy(), X[:2], T[:2], engine=engine, epochs=1, lr=args.lr, progress=False)
    compile_s = time.perf_counter() - t0

    nets, hists = {}, {}
    for engine in ("scalar", "vectorized"):
        nets[engine] = start.copy()
        hists[engine] = train(nets[engine], X, T, engine=engine, epochs=args.epochs,
                              lr=args.lr, seed=args.seed, X_val=Xv, T_val=Tv)
        print(hists[engine])
        print()
    diff = float(np.abs(nets["scalar"].params - nets["vectorized"].params).max())
    print(f"same parameters after training: max |scalar − vectorized| = {diff:.2e} "
          f"({'agree' if diff <= 1e-10 else 'DISAGREE'} within 1e-10)")

    # the vectorized engine's gradient (the engines agree, as just shown): checking the
    # scalar one would compile two more kernels (about 1 s of a first run) for one check
    net = nets["vectorized"]
    check = check_gradients(net, Xv[:8], Tv[:8], engine="vectorized")
    print(f"finite-difference check of the trained network ({net.num_params} parameters, "
          f"8 examples, vectorized engine): {'OK' if check.ok else 'FAILED'}, max rel error "
          f"{check.max_rel_error:.1e}")

    ts = hists["scalar"].time_per_example
    tv = hists["vectorized"].time_per_example
    print("\ntime per example (forward + backward + update, median epoch):")
    print(f"  scalar engine (Numba, one call per epoch): {ts * 1e6:9.3f} µs")
    print(f"  vectorized engine (numpy, batch of 1):     {tv * 1e6:9.3f} µs")
    print(f"  ratio vectorized / scalar:                 {tv / ts:9.1f}×")
    print(f"  (Numba compile or cache load: {compile_s:.2f} s)")
    acc = hists["scalar"].val_accuracy[-1]
    print(f"\nvalidation accuracy: {acc:.2%} (scalar), "
          f"{hists['vectorized'].val_accuracy[-1]:.2%} (vectorized)")
    if not args.no_plot:
        _plot(hists, args.out)
    print(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0 if (check.ok and diff <= 1e-10) else 1


def _plot(hists: dict, out: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'scalarprop[plot]')")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for (engine, h), style in zip(hists.items(), ("-", "--")):
        epochs = np.arange(1, h.epochs + 1)
        ax.plot(epochs, h.train_loss, style, marker="o", label=f"{engine}: train")
        ax.plot(epochs, h.val_loss, style, marker="s", label=f"{engine}: validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy per example")
    ax.set_title("scalarprop demo: the two engines train the same network")
    ax.legend()
    fig.tight_layout()
    try:
        with atomic_write(out) as fh:
            fig.savefig(fh, format=os.path.splitext(out)[1][1:].lower(), dpi=100)
    finally:
        plt.close(fig)
    print(f"loss curves written to {out}")
