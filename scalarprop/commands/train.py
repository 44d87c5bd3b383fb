"""``scalarprop train``: gradient descent on built-in data or your own file."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..data import load_arrays, load_digits, load_synth
from ..engines import ENGINE_NAMES
from ..files import check_writable
from ..network import MLP
from ..train import History, TrainingDivergedError, TrainingInterrupted, accuracy, train
from .options import add_network_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a network by gradient descent",
        description="Train an MLP by gradient descent (stochastic, minibatch or full batch) "
                    "with any engine, on built-in data (synth, digits) or a .npz/.csv file, "
                    "and optionally save it. Example: scalarprop train --data digits "
                    "--sizes 64,32,10 --hidden sigmoid --output softmax --loss ce "
                    "--engine scalar --batch-size 1 --epochs 20 --lr 0.01 --save model.npz")
    p.add_argument("--data", default="synth",
                   help="synth (the course's 2-D data), digits (8x8 handwritten digits), or "
                        "a path to .npz (keys X, T) or .csv (last column the target)")
    add_network_options(p, from_data=True, seed_help="seed for init, order and split")
    p.add_argument("--engine", choices=list(ENGINE_NAMES), default="scalar",
                   help="engine computing the gradients (default scalar)")
    p.add_argument("--batch-size", type=int, default=1,
                   help="examples per step: 1 stochastic, N full batch (default 1)")
    p.add_argument("--epochs", type=int, default=10, help="passes over the data (default 10)")
    p.add_argument("--lr", type=float, default=0.01,
                   help="learning rate; the step uses the SUM of the batch's gradients "
                        "(default 0.01)")
    p.add_argument("--no-standardize", action="store_true",
                   help="use the raw features (default: scale each feature to zero mean "
                        "and unit variance on the training set)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--save", default=None,
                   help="write the trained network to this file (.npz appended only to a name "
                        "without a suffix); checked before training, written atomically; on "
                        "Ctrl-C or divergence the last good parameters are saved")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="also save to --save every N epochs (atomically)")
    p.set_defaults(run=run)


def _load(data: str, seed: int, targets: str):
    if data == "synth":
        return load_synth(num_train=10_000, num_val=2_000, seed=seed)
    if data == "digits":
        return load_digits(seed=seed)
    if os.path.exists(data):
        return load_arrays(data, seed=seed, targets=targets)
    raise ValueError(f"--data {data!r}: expected synth, digits or an existing .npz/.csv path")


def check_save(save: str | None, data: str, checkpoint_every: int) -> str | None:
    """Where ``--save`` will write, refused now if it cannot be written or is the data."""
    if checkpoint_every < 0 or (checkpoint_every and not save):
        raise ValueError(f"--checkpoint-every {checkpoint_every}: expects a positive number "
                         "of epochs, and --save (where to write)")
    if not save:
        return None
    path = check_writable(save, "--save")
    if os.path.exists(data) and (os.path.abspath(path) == os.path.abspath(data) or (
            os.path.exists(path) and os.path.samefile(path, data))):
        raise ValueError(f"--save {save}: is the training data (--data {data}); saving "
                         "would overwrite it. Choose another file")
    return path


def fit_loss(loss: str | None, K: int | None, data: str) -> None:
    """Refuse, before training, a loss the targets cannot serve."""
    if loss in ("hinge", "bce") and K is not None and K != 2:
        raise ValueError(f"--loss {loss}: separates two classes, but {data} has {K}; use "
                         "--loss ce (softmax output) for several classes")
    if loss in ("hinge", "bce", "ce") and K is None:
        raise ValueError(f"--loss {loss}: needs class labels, but the targets of {data} are "
                         "real numbers; use --loss squared or absolute")


def check_numbers(args: argparse.Namespace) -> None:
    """The numeric options, before any data is read."""
    for option, value, low in (("--epochs", args.epochs, 0), ("--seed", args.seed, 0)):
        if value < low:
            raise ValueError(f"{option} {value}: expected an integer >= {low}")
    if not (np.isfinite(args.lr) and args.lr > 0):
        raise ValueError(f"--lr {args.lr}: expected a positive, finite learning rate")


def run(args: argparse.Namespace) -> int:
    check_numbers(args)
    save = check_save(args.save, args.data, args.checkpoint_every)
    regression = args.loss in ("squared", "absolute")
    (X, T), (Xv, Tv), K = _load(args.data, args.seed, "values" if regression else "auto")
    fit_loss(args.loss, K, args.data)
    if regression and K is not None:
        # built-in class data with a regression loss: said now, not found after training
        print(f"note: --loss {args.loss} on the class labels of {args.data}: the network "
              "regresses each label as a number (one output); no accuracy is reported. "
              "For classification use --loss ce.")
        T, Tv, K = T.astype(np.float64), Tv.astype(np.float64), None
    classes = K is not None
    output = args.output or ("softmax" if classes else "identity")
    loss = args.loss or ("ce" if classes else "squared")
    n_out = (K if loss == "ce" else 1) if classes else (1 if T.ndim == 1 else T.shape[1])
    sizes = args.sizes or [X.shape[1], 16, n_out]
    if sizes[0] != X.shape[1]:
        raise ValueError(f"--sizes {','.join(map(str, sizes))}: the data has {X.shape[1]} "
                         f"features, so the first width must be {X.shape[1]}")
    if classes and loss == "ce" and sizes[-1] != K:
        raise ValueError(f"--sizes {','.join(map(str, sizes))}: the data has {K} classes, so "
                         f"the last width must be {K} for the ce loss")
    if not args.no_standardize:
        mean, std = X.mean(axis=0), X.std(axis=0)
        std[std == 0] = 1.0
        X, Xv = (X - mean) / std, (Xv - mean) / std
    net = MLP(sizes, args.hidden, output, loss, seed=args.seed)
    if loss == "hinge":
        T, Tv = np.where(T > 0, 1.0, -1.0), np.where(Tv > 0, 1.0, -1.0)
    print(f"training {'-'.join(map(str, sizes))} ({args.hidden} hidden, {output} output, "
          f"{loss} loss) on {args.data}: {len(X)} training, {len(Xv)} validation examples",
          flush=True)

    def after_epoch(epoch: int, history: History) -> None:
        if epoch == 1:
            print(history.header())
        print(history.row(epoch - 1), flush=True)
        if args.checkpoint_every and epoch % args.checkpoint_every == 0:
            print(f"  checkpoint: the parameters after epoch {epoch} saved to "
                  f"{_save(net, save)}", flush=True)

    try:
        history = train(net, X, T, engine=args.engine, batch_size=args.batch_size,
                        epochs=args.epochs, lr=args.lr, seed=args.seed,
                        X_val=Xv if len(Xv) else None, T_val=Tv if len(Xv) else None,
                        progress=False if args.no_progress else None, after_epoch=after_epoch)
    except TrainingInterrupted as exc:
        net.params[:] = exc.epoch_params
        which = "" if exc.completed_epochs else " (the initial ones)"
        kept = (f"the parameters after epoch {exc.completed_epochs}{which} are saved to "
                f"{_save(net, save)}" if save else "nothing saved (no --save)")
        sys.stderr.write(f"scalarprop train: interrupted in epoch {exc.epoch}; {kept}\n")
        return 130
    except TrainingDivergedError as exc:
        kept = (f"the parameters from before that step are saved to {_save(net, save)}"
                if save else "nothing saved (no --save)")
        sys.stderr.write(f"scalarprop train: training diverged at epoch {exc.epoch}, step "
                         f"{exc.step} (loss {exc.loss:.6g}); {kept}. Try a smaller --lr.\n")
        return 1
    print(f"time per example: {history.time_per_example * 1e6:.3f} µs")
    if classes and len(Xv):
        print(f"validation accuracy: {accuracy(net, Xv, Tv):.2%}")
    if save:
        print(f"saved to {_save(net, save)}")
    return 0


def _save(net: MLP, path: str) -> str:
    """Save, and tell a failed save (a full disk) in words that say what is left."""
    try:
        return net.save(path)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot save ({exc.strerror or exc}); any previous file "
                                 "there is unchanged", path) from None
