"""Gradient descent (lecture part 1, slide 18) with any engine.

::

    pick some initial weights θ
    loop over epochs:
        for each batch (x, t) of the (shuffled) data:
            θ ← θ − α · ∇θ loss_{x,t}(θ)

``batch_size=1`` is stochastic gradient descent, ``1 < batch_size < n`` minibatch, and
``batch_size=len(X)`` full batch. The gradient of a batch is the SUM of its examples'
gradients (the lecture's convention: a batch's loss is the sum of the examples' losses), so
the learning rate α accounts for the batch size: doubling the batch doubles the step unless α
is halved.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engines import ENGINE_NAMES, get_engine
from .validate import check_batch


class TrainingDivergedError(FloatingPointError):
    """The loss or gradient became NaN or inf. ``net.params`` hold the values from before the
    failing step; ``epoch`` and ``step`` (both 1-based) say where, ``history`` what came before."""

    def __init__(self, epoch: int, step: int, loss: float, history: History) -> None:
        self.epoch, self.step, self.loss, self.history = epoch, step, loss, history
        super().__init__(
            f"training diverged: the loss (or its gradient) is not finite (loss={loss}) at "
            f"epoch {epoch}, step {step}; the parameters from before that step are kept. "
            f"Try a smaller learning rate.")


@dataclass
class History:
    """Per epoch: training loss (mean per example over the epoch's steps, each measured
    before its update), validation loss (mean per example after the epoch) and validation
    accuracy (classification only), and wall time."""

    engine: str
    batch_size: int
    lr: float
    num_train: int
    classification: bool
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def time_per_example(self) -> float:
        """Median seconds per training example of one epoch (forward, backward, update)."""
        return float(np.median(self.time)) / self.num_train if self.time else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("engine", "batch_size", "lr", "num_train",
                                               "train_loss", "val_loss", "val_accuracy",
                                               "time")}

    def __str__(self) -> str:
        lines = [f"{self.engine} engine, batch size {self.batch_size}, lr {self.lr:g}, "
                 f"{self.num_train} examples"]
        head = f"  {'epoch':>5}  {'train loss':>11}"
        if self.val_loss:
            head += f"  {'val loss':>10}"
        if self.val_accuracy:
            head += f"  {'val acc':>8}"
        lines.append(head + f"  {'time':>8}")
        for e in range(self.epochs):
            row = f"  {e + 1:>5}  {self.train_loss[e]:>11.5f}"
            if self.val_loss:
                row += f"  {self.val_loss[e]:>10.5f}"
            if self.val_accuracy:
                row += f"  {self.val_accuracy[e]:>8.2%}"
            lines.append(row + f"  {self.time[e]:>7.3f}s")
        return "\n".join(lines)


def is_classification(net: Any) -> bool:
    """ce, bce and hinge networks classify; squared/absolute ones regress."""
    return net.loss in ("ce", "bce", "hinge")


def accuracy(net: Any, X: Any, T: Any) -> float:
    """Fraction of examples classified right: argmax for ce, ``y > 1/2`` for bce (per
    output), ``sign(y)`` for hinge."""
    if not is_classification(net):
        raise ValueError(f"accuracy: loss={net.loss!r} is a regression loss, not a classifier")
    Xc, Tc = check_batch(net, X, T)
    Y = net.predict(Xc)
    if net.loss == "ce":
        return float((Y.argmax(axis=1) == Tc[:, 0]).mean())
    if net.loss == "bce":
        return float(((Y > 0.5) == (Tc == 1.0)).mean())
    return float((np.where(Y >= 0, 1.0, -1.0) == Tc).mean())   # hinge


def _check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r}: expected an integer >= {minimum}")
    return int(value)


def train(net: Any, X: Any, T: Any, engine: str = "scalar", batch_size: int = 1,
          epochs: int = 1, lr: float = 0.01, shuffle: bool = True, seed: int = 0,
          X_val: Any = None, T_val: Any = None, progress: bool | None = None) -> History:
    """Train ``net`` in place by gradient descent and return its :class:`History`.

    Args:
        engine: "scalar" (one compiled Numba call per epoch: the loop over examples and the
            updates run inside the kernel), "vectorized" (numpy, one call per batch) or
            "autodiff".
        batch_size: examples per step; 1 is stochastic, ``len(X)`` (or more) full batch.
            The step uses the SUM of the batch's gradients, so scale ``lr`` accordingly.
        epochs: passes over the data.
        lr: the learning rate α.
        shuffle: visit the examples in a new random order each epoch (from ``seed``); the
            same seed gives the same order with every engine, hence the same parameters.
        X_val, T_val: a validation set, evaluated after each epoch.
        progress: a progress bar (tqdm) shown once a run takes longer than about 2 s; None
            shows it only when stderr is a terminal, False never.

    Raises:
        ValueError: bad arguments or data, before anything changes.
        TrainingDivergedError: a NaN or inf loss or gradient; it names the epoch and step, and
            ``net.params`` hold the values from before that step.
    """
    if engine not in ENGINE_NAMES:
        raise ValueError(f"engine={engine!r}: expected one of {list(ENGINE_NAMES)}")
    Xc, Tc = check_batch(net, X, T)
    n = Xc.shape[0]
    batch_size = min(_check_positive_int(batch_size, "batch_size"), n)
    epochs = _check_positive_int(epochs, "epochs", minimum=0)
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) \
            or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr={lr!r}: expected a positive, finite learning rate")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle={shuffle!r}: expected True or False")
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise ValueError(f"progress={progress!r}: expected True, False or None")
    if (X_val is None) != (T_val is None):
        raise ValueError("X_val and T_val: give both or neither")
    if X_val is not None:
        Xv, Tv = check_batch(net, X_val, T_val, ("X_val", "T_val"))
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r}: expected a non-negative integer")

    eng = get_engine(engine)
    # the validation set is measured by one engine whichever trains, so that runs compare
    measure = get_engine("vectorized")
    rng = np.random.default_rng(seed)
    history = History(engine, batch_size, float(lr), n, is_classification(net))
    steps = (n + batch_size - 1) // batch_size
    step_loss = np.empty(steps)
    bar = _progress_bar(progress, epochs, engine)
    try:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n) if shuffle else np.arange(n, dtype=np.int64)
            t0 = time.perf_counter()
            failed = eng.train_epoch(net, Xc, Tc, order, batch_size, float(lr), step_loss)
            elapsed = time.perf_counter() - t0
            if failed >= 0:
                raise TrainingDivergedError(epoch, failed + 1, float(step_loss[failed]), history)
            history.time.append(elapsed)
            history.train_loss.append(float(step_loss.sum()) / n)
            if X_val is not None:
                history.val_loss.append(measure.loss(net, Xv, Tv) / len(Xv))
                if history.classification:
                    history.val_accuracy.append(accuracy(net, Xv, Tv))
            if bar is not None:
                bar.set_postfix(loss=f"{history.train_loss[-1]:.4g}")
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return history


def _progress_bar(progress: bool | None, epochs: int, engine: str):
    if progress is False or epochs == 0:
        return None
    if progress is None and not sys.stderr.isatty():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    # delay: only runs longer than about two seconds show a bar
    return tqdm(total=epochs, desc=f"training ({engine})", unit="epoch", delay=2.0,
                leave=False)
