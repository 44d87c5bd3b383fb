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

Nothing is lost on the way. An epoch runs as engine calls of whole batches and bounded work
(a compiled kernel cannot be interrupted; between two calls Ctrl-C can), so an interrupt
stops at a step boundary that :class:`TrainingInterrupted` names. A step whose loss, gradient
or update is not finite is undone and named by :class:`TrainingDivergedError`. A network is
trained by one thread at a time (``MLP.exclusive``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engines import ENGINE_NAMES, get_engine
from .progress import progress_bar
from .validate import check_batch, check_fits, check_params, finite_updates


class TrainingDivergedError(FloatingPointError):
    """The loss or gradient became NaN or inf, or an update made a parameter NaN or inf.
    ``net.params`` hold the (finite) values from before the failing step; ``epoch`` and
    ``step`` (both 1-based) say where, ``history`` what came before."""

    def __init__(self, epoch: int, step: int, loss: float, history: History) -> None:
        self.epoch, self.step, self.loss, self.history = epoch, step, loss, history
        what = ("the loss (or its gradient) is not finite" if not np.isfinite(loss) else
                f"the update makes a parameter NaN or inf (the step's loss was {loss:.6g})")
        super().__init__(
            f"training diverged: {what} at epoch {epoch}, step {step}"
            f"{f' (loss={loss})' if not np.isfinite(loss) else ''}; the parameters from "
            f"before that step are kept. Try a smaller learning rate.")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or any ``KeyboardInterrupt``) during :func:`train`, raised at a known place.

    ``net.params`` hold the parameters after ``step`` of the ``steps`` steps of ``epoch``
    (1-based; ``step == 0``: after epoch ``epoch - 1``, an epoch boundary). ``epoch_params``
    holds the parameters after the last whole epoch, ``completed_epochs``; ``history`` the
    epochs recorded so far."""

    def __init__(self, epoch: int, step: int, steps: int, history: History,
                 epoch_params: np.ndarray) -> None:
        self.epoch, self.step, self.steps, self.history = epoch, step, steps, history
        self.epoch_params = epoch_params
        self.completed_epochs = epoch if step == steps else epoch - 1
        if step == 0:
            where = (f"before its first step; net.params hold the parameters after epoch "
                     f"{epoch - 1} (an epoch boundary)")
        elif step == steps:
            where = (f"after its last step; net.params hold the parameters after epoch "
                     f"{epoch} (an epoch boundary)")
        else:
            where = (f"after step {step} of {steps}; net.params hold the parameters after "
                     f"that step (a step boundary), .epoch_params those after epoch "
                     f"{epoch - 1}")
        super().__init__(f"training interrupted in epoch {epoch} {where}")


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

    def header(self) -> str:
        """The title line and the column heads of :meth:`__str__`."""
        head = f"  {'epoch':>5}  {'train loss':>11}"
        if self.val_loss:
            head += f"  {'val loss':>10}"
        if self.val_accuracy:
            head += f"  {'val acc':>8}"
        return (f"{self.engine} engine, batch size {self.batch_size}, lr {self.lr:g}, "
                f"{self.num_train} examples\n{head}  {'time':>8}")

    def row(self, e: int) -> str:
        """Epoch ``e``'s line (0-based) of :meth:`__str__`."""
        row = f"  {e + 1:>5}  {self.train_loss[e]:>11.5f}"
        if self.val_loss:
            row += f"  {self.val_loss[e]:>10.5f}"
        if self.val_accuracy:
            row += f"  {self.val_accuracy[e]:>8.2%}"
        return row + f"  {self.time[e]:>7.3f}s"

    def __str__(self) -> str:
        return "\n".join([self.header()] + [self.row(e) for e in range(self.epochs)])


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


#: the cost of one unit's activation (an exp, a division) in multiply-adds: a 2-300000-2
#: network is bound by its 300000 sigmoids, a 784-128-10 one by its 100000 weights
ACTIVATION_WORK = 50
#: the work of one kernel call (examples × :func:`example_work`): 0.05-0.25 s with the
#: scalar engine (AVX-512 Xeon: 784-128-10 about 0.06 s, 2-300000-2 about 0.25 s). A compiled
#: kernel cannot be interrupted, so an epoch runs as several calls and Ctrl-C is answered
#: between two of them; the calls are few enough to cost nothing measurable
CHUNK_WORK = 1 << 29
#: a batch of more work than this is not one call: its gradient is summed from pieces of
#: about :data:`CHUNK_WORK`, so that Ctrl-C is answered inside a long step too
SPLIT_WORK = 4 * CHUNK_WORK


def example_work(net: Any) -> int:
    """The work of one example's forward, backward and update, in multiply-adds: every
    weight and bias, and every unit's activation."""
    return net.num_params + ACTIVATION_WORK * sum(net.sizes[1:])


def chunk_steps(batch_size: int, work: int, steps: int) -> int:
    """Steps per kernel call: whole batches (each update is exactly the one a single call for
    the whole epoch makes) of about :data:`CHUNK_WORK` work (``work`` per example)."""
    return max(1, min(steps, CHUNK_WORK // max(1, batch_size * work)))


def split_epoch(engine: Any, piece: int) -> Callable[..., int]:
    """The engine's ``train_epoch`` contract for batches too large for one bounded call: each
    step's loss and gradient summed over pieces of ``piece`` examples (the batch's sum, as
    the lecture's convention has it; only the order of the additions differs), then
    ``θ ← θ − α ∇θ``. An interrupt between pieces leaves the parameters of the step before."""

    @finite_updates
    def epoch(net: Any, X: np.ndarray, T: np.ndarray, order: np.ndarray, batch_size: int,
              lr: float, step_loss: np.ndarray) -> int:
        params = net.params
        grad = np.empty_like(params)
        for s in range((len(order) + batch_size - 1) // batch_size):
            idx = order[s * batch_size:(s + 1) * batch_size]
            grad[:] = 0.0
            total = 0.0
            for a in range(0, len(idx), piece):
                part = idx[a:a + piece]
                loss, g = engine.loss_and_grad(net, X[part], T[part])
                total += loss
                grad += g
            step_loss[s] = total
            if not (np.isfinite(total) and np.isfinite(grad).all()):
                return s
            params -= lr * grad
        return -1

    return epoch


def train(net: Any, X: Any, T: Any, engine: str = "scalar", batch_size: int = 1,
          epochs: int = 1, lr: float = 0.01, shuffle: bool = True, seed: int = 0,
          X_val: Any = None, T_val: Any = None, progress: bool | None = None,
          after_epoch: Callable[[int, History], None] | None = None) -> History:
    """Train ``net`` in place by gradient descent and return its :class:`History`.

    Args:
        engine: "scalar" (compiled Numba calls: the loop over examples and the updates run
            inside the kernel), "vectorized" (numpy, one call per batch) or "autodiff".
        batch_size: examples per step; 1 is stochastic, ``len(X)`` (or more) full batch.
            The step uses the SUM of the batch's gradients, so scale ``lr`` accordingly.
        epochs: passes over the data.
        lr: the learning rate α.
        shuffle: visit the examples in a new random order each epoch (from ``seed``); the
            same seed gives the same order with every engine, hence the same parameters.
        X_val, T_val: a validation set, evaluated after each epoch.
        progress: a progress bar (tqdm) shown once a run takes longer than about 2 s; None
            shows it only when stderr is a terminal, False never.
        after_epoch: called as ``after_epoch(epoch, history)`` after each epoch (1-based),
            with ``net.params`` those after that epoch: to print or save a checkpoint.

    Raises:
        ValueError: bad arguments or data, non-finite starting parameters, or a network and
            data that do not fit in memory: before anything changes.
        TrainingDivergedError: a NaN or inf loss or gradient, or an update that makes a
            parameter NaN or inf; it names the epoch and step, and ``net.params`` hold the
            (finite) values from before that step.
        TrainingInterrupted: a ``KeyboardInterrupt`` (Ctrl-C), answered within about 0.1 s
            (see :data:`CHUNK_WORK`); it says where, and ``net.params`` hold the parameters
            of that step or epoch boundary.
        NetworkBusyError: ``net`` is being trained by another thread.
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
    if after_epoch is not None and not callable(after_epoch):
        raise ValueError(f"after_epoch={after_epoch!r}: expected a function or None")
    check_fits(training_bytes(net, Xc, batch_size, engine),
               "training this network on this data")

    with net.exclusive("train"):
        check_params(net)
        return _run(net, Xc, Tc, engine, batch_size, epochs, float(lr), shuffle, seed,
                    (Xv, Tv) if X_val is not None else None, progress, after_epoch)


def training_bytes(net: Any, X: np.ndarray, batch_size: int,
                   engine: str = "vectorized") -> int:
    """What a run holds besides the network and data: five more parameter-sized buffers
    (gradients, the two restore points, an update), the step losses, and the node values of
    a call: one example's for the scalar engine, a batch's (or a piece's, see
    :func:`split_epoch`) activations and their gradients for the others."""
    units = sum(net.sizes)
    steps = (X.shape[0] + batch_size - 1) // batch_size
    rows, work = batch_size, example_work(net)
    if batch_size * work > SPLIT_WORK:
        rows = max(1, CHUNK_WORK // work)
    nodes = 4 * units * (1 if engine == "scalar" else rows)
    return 8 * (5 * net.num_params + steps + nodes)


def _run(net: Any, Xc: np.ndarray, Tc: np.ndarray, engine: str, batch_size: int, epochs: int,
         lr: float, shuffle: bool, seed: int, val: tuple[np.ndarray, np.ndarray] | None,
         progress: bool | None, after_epoch: Callable[[int, History], None] | None
         ) -> History:
    """The epochs, on checked arguments, with ``net`` held for this thread."""
    n = Xc.shape[0]
    rng = np.random.default_rng(seed)
    history = History(engine, batch_size, lr, n, is_classification(net))
    steps = (n + batch_size - 1) // batch_size
    work = example_work(net)
    chunk = chunk_steps(batch_size, work, steps)
    step_loss = np.empty(steps)
    epoch_fn = get_engine(engine).train_epoch
    if batch_size * work > SPLIT_WORK:
        epoch_fn = split_epoch(get_engine(engine), max(1, CHUNK_WORK // work))
    params = net.params
    restore = np.empty_like(params)     # the parameters at the start of the running call
    # delay: only runs longer than about two seconds show a bar
    bar = progress_bar(epochs, f"training ({engine})", "epoch", progress, delay=2.0)
    try:
        for epoch in range(1, epochs + 1):
            epoch_params = params.copy()
            order = rng.permutation(n) if shuffle else np.arange(n, dtype=np.int64)
            done = 0
            try:
                t0 = time.perf_counter()
                for a in range(0, steps, chunk):
                    b = min(steps, a + chunk)
                    np.copyto(restore, params)
                    idx = order[a * batch_size:b * batch_size]
                    # an overflowing update is found and undone by the engine's call too
                    # (validate.finite_updates), so ``params`` are finite after it
                    failed = epoch_fn(net, Xc, Tc, idx, batch_size, lr, step_loss[a:b])
                    if failed >= 0:
                        raise TrainingDivergedError(epoch, a + failed + 1,
                                                    float(step_loss[a + failed]), history)
                    done = b
                elapsed = time.perf_counter() - t0
                _record(net, history, step_loss, elapsed, val)
                if after_epoch is not None:
                    after_epoch(epoch, history)
            except KeyboardInterrupt:
                if done < steps:
                    np.copyto(params, restore)      # the last call's start: a step boundary
                else:
                    epoch_params = params.copy()
                raise TrainingInterrupted(epoch, done, steps, history, epoch_params) from None
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4g}")
            bar.update(1)
    finally:
        bar.close()
    return history


def _record(net: Any, history: History, step_loss: np.ndarray, elapsed: float,
            val: tuple[np.ndarray, np.ndarray] | None) -> None:
    """One epoch's line of the history."""
    history.time.append(elapsed)
    history.train_loss.append(float(step_loss.sum()) / history.num_train)
    if val is not None:
        Xv, Tv = val
        # the validation set is measured by one engine whichever trains, so that runs compare
        with np.errstate(all="ignore"):
            history.val_loss.append(get_engine("vectorized").loss(net, Xv, Tv) / len(Xv))
            if history.classification:
                history.val_accuracy.append(accuracy(net, Xv, Tv))

