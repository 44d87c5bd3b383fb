"""``scalarprop explore``: the explorer page (one self-contained HTML file) of a network."""

from __future__ import annotations

import argparse

import numpy as np

from ..engines import ENGINE_NAMES
from ..plot.network import MAX_UNITS, SHOWS
from .options import add_source_options, build_network, parse_values, random_targets

#: how many examples the SGD run trains on when none are given (the page shows --examples)
RANDOM_EXAMPLES = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explore", help="write the explorer page: click a weight, see its derivation",
        description="Write one self-contained HTML page (no network needed to open it) that "
                    "draws the network as `draw` does and shows, for the weight or node you "
                    "click, the chain of local derivatives with the numbers, every path, the "
                    "engines' and the finite difference's values and the gradient-descent "
                    "reading, with a slider over recorded SGD steps and an example picker. "
                    "Example: scalarprop explore --example lecture --out lecture.html")
    add_source_options(p)
    p.add_argument("--data", choices=["synth", "digits"], default=None,
                   help="train and show examples from the course's 2-D data or the 8x8 digits "
                        "(default: the lecture's example and random ones)")
    p.add_argument("--x", default=None,
                   help="the first example's input, comma-separated (with --t)")
    p.add_argument("--t", default=None,
                   help="its target, comma-separated (a class index for the ce loss)")
    p.add_argument("--examples", type=int, default=5,
                   help="how many examples the picker offers (default 5)")
    p.add_argument("--steps", type=int, default=50,
                   help="recorded SGD steps on the slider (default 50)")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate α (default 0.05)")
    p.add_argument("--weight", default=None,
                   help="the parameter selected first: W0[1,0], b1[0], or the lecture's w12")
    p.add_argument("--show", choices=SHOWS, default="values",
                   help="values, gradients or updates first (the page toggles); default values")
    p.add_argument("--engine", choices=list(ENGINE_NAMES), default="scalar",
                   help="engine computing the steps and the nodes (default scalar)")
    p.add_argument("--max-units", type=int, default=MAX_UNITS,
                   help=f"draw wider layers with a gap, keeping the strongest units "
                        f"(default {MAX_UNITS})")
    p.add_argument("--out", default="explore.html",
                   help="the page to write, a .html file (default explore.html)")
    p.set_defaults(run=run)


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, int]:
    """The chosen data set, standardized as ``train`` does; and its number of classes."""
    from ..data import load_digits, load_synth

    seed = args.seed or 0
    (X, T), _, K = (load_synth(num_train=200, num_val=0, seed=seed) if args.data == "synth"
                    else load_digits(seed=seed))
    std = X.std(axis=0)
    std[std == 0] = 1.0
    return (X - X.mean(axis=0)) / std, T, K


def network_and_data(args: argparse.Namespace) -> tuple[object, np.ndarray, np.ndarray]:
    from ..network import MLP

    rng = np.random.default_rng((args.seed or 0) + 1)
    if args.data is None:
        net, x, t = build_network(args, seed_picks_example=True)
        n = max(RANDOM_EXAMPLES, args.examples)
        if x is not None:        # the lecture's example first, then others aiming at its t
            X = np.vstack([x, rng.normal(size=(n - 1, net.sizes[0]))])
            T = np.vstack([t, np.tile(t, (n - 1, 1))])
            return net, X, T
        return net, rng.normal(size=(n, net.sizes[0])), random_targets(net, n, rng)
    if args.example is not None:
        raise ValueError("--example lecture and --data: the lecture's network has its own "
                         "example; drop --data")
    X, T, K = load_data(args)
    if args.model is not None:
        net, _, _ = build_network(args, seed_picks_example=True)
    else:
        output = args.output or "softmax"
        loss = args.loss or "ce"
        sizes = args.sizes or [X.shape[1], 16 if X.shape[1] > 8 else 4,
                               K if loss == "ce" else 1]
        net = MLP(sizes, args.hidden or "sigmoid", output, loss, seed=args.seed or 0)
    if net.sizes[0] != X.shape[1]:
        raise ValueError(f"--data {args.data}: {X.shape[1]} features, but the network takes "
                         f"{net.sizes[0]} inputs")
    if net.loss == "hinge":
        T = np.where(T > 0, 1.0, -1.0)
    elif net.loss != "ce":
        T = np.eye(K)[T] if net.sizes[-1] == K else T.astype(float)
    return net, X, T


def first_example(net: object, X: np.ndarray, T: np.ndarray, x_text: str | None,
                  t_text: str | None) -> tuple[np.ndarray, np.ndarray]:
    """``--x`` and ``--t`` as the first example, before the others."""
    if x_text is None and t_text is None:
        return X, T
    if x_text is None or t_text is None:
        raise ValueError("--x and --t: give both (an example and its target)")
    sizes, loss = net.sizes, net.loss                          # type: ignore[attr-defined]
    x, t = parse_values(x_text, "--x"), parse_values(t_text, "--t")
    if x.shape[0] != sizes[0]:
        raise ValueError(f"--x {x_text!r}: the network has {sizes[0]} inputs, got "
                         f"{x.shape[0]} numbers")
    width = 1 if loss == "ce" else sizes[-1]
    if t.shape[0] != width:
        raise ValueError(f"--t {t_text!r}: expected {width} number"
                         + (" (a class index)" if loss == "ce" else "s"))
    T = np.asarray(T)
    t_row = t[:1].astype(T.dtype) if T.ndim == 1 else t.reshape(1, -1)
    return np.vstack([x, X]), np.concatenate([t_row, T])


def run(args: argparse.Namespace) -> int:
    from ..plot.page import check_out, explore

    check_out(args.out)
    net, X, T = network_and_data(args)
    X, T = first_example(net, X, T, args.x, args.t)
    page = explore(net, X, T, args.out, examples=args.examples, steps=args.steps, lr=args.lr,
                   weight=args.weight, show=args.show, engine=args.engine,
                   max_units=args.max_units, seed=args.seed or 0)
    sizes = "-".join(map(str, net.sizes))
    print(f"wrote {args.out}: {sizes} network, {len(page.params)} parameters drawn, "
          f"{args.steps} SGD steps, {min(args.examples, len(X))} examples, "
          f"{page.size / 1024:.0f} KB")
    return 0
