"""What the explorer page steps through: a short run of stochastic gradient descent (slide 18),
with one forward and backward pass of each shown example at every step (slides 41-46).

::

    θ₀ = the network's parameters
    for s = 0 .. N−1:   θₛ₊₁ = θₛ − α · ∇θ l(xᵢ, tᵢ; θₛ)     (iₛ: the s-th training example
                                                         of a seeded shuffle, epoch by epoch)

At every θₛ (s = 0..N) the recording keeps each shown example's nodes, ``k``, ``h``, ``∂l/∂k``
and ``∂l/∂h`` of every layer, its loss, and ``∂l/∂x`` (the step the backward pass would take
below the first layer). At every ``check_every``-th step it also keeps, for chosen parameters,
the checks :func:`scalarprop.explain.explain` prints: the scalar and vectorized engines'
``∂l/∂w`` and the central finite difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks.gradcheck import difference_quotients
from ..engines import get_engine
from ..network import MLP


@dataclass
class Recording:
    """``params[s]``: θₛ (all parameters); ``order[s]``: the training example of step s and
    ``train_loss[s]`` its loss at θₛ, before the update; ``nodes[key][s, e]`` the node values
    (keys ``k1``, ``h1``, ``k1_grad``, …, ``x_grad``) of shown example e at θₛ;
    ``loss[s, e]`` its loss. ``check_steps``: where the checks were taken; ``checks[name][c,
    e, p]`` (names ``scalar``, ``vectorized``, ``fd``; the one-sided quotients ``forward`` and
    ``backward``) for parameter ``check_params[p]``;
    ``inputs[e]`` the shown examples' inputs."""

    params: np.ndarray
    order: np.ndarray
    train_loss: np.ndarray
    nodes: dict[str, np.ndarray]
    loss: np.ndarray
    check_steps: np.ndarray
    check_params: np.ndarray
    checks: dict[str, np.ndarray]
    lr: float
    inputs: np.ndarray


def sgd_order(n: int, steps: int, seed: int) -> np.ndarray:
    """The training example of each step: one seeded shuffle of ``range(n)`` per epoch."""
    rng = np.random.default_rng(seed)
    epochs = -(-steps // n) if steps else 0
    return np.concatenate([rng.permutation(n) for _ in range(epochs)] or
                          [np.zeros(0, dtype=int)])[:steps].astype(np.int64)


def record(net: MLP, X: np.ndarray, T: np.ndarray, shown: np.ndarray, *, steps: int,
           lr: float, seed: int, engine: str, check_params: np.ndarray, check_every: int,
           eps: float) -> Recording:
    """Run ``steps`` SGD steps on a copy of ``net`` over the checked batch ``(X, T)``, keeping
    what the page shows of the examples ``shown`` (row indices of X). ``net`` is not changed.
    A step whose loss or gradient is not finite raises a ValueError (lower the rate)."""
    eng = get_engine(engine)
    run = net.copy()
    order = sgd_order(X.shape[0], steps, seed)
    params = np.empty((steps + 1, net.num_params))
    train_loss = np.empty(steps)
    Xs, Ts = X[shown], T[shown]
    per_step: list[dict[str, np.ndarray]] = []
    losses = np.empty((steps + 1, len(shown)))
    check_steps = np.arange(0, steps + 1, check_every)
    checks = {k: np.empty((len(check_steps), len(shown), len(check_params)))
              for k in ("scalar", "vectorized", "fd", "forward", "backward")}
    # overflow is looked for below, after each step: one ValueError, no warnings
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(steps + 1):
            params[s] = run.params
            per_step.append(_nodes(run, Xs, Ts, eng))
            for e in range(len(shown)):
                losses[s, e] = eng.loss(run, Xs[e:e + 1], Ts[e:e + 1])
            if not np.isfinite(losses[s]).all():
                raise _diverged(lr, s, losses[s])
            if s % check_every == 0:
                _checks(run, Xs, Ts, check_params, eps, checks, s // check_every)
            if s == steps:
                break
            i = order[s]
            loss, grad = eng.loss_and_grad(run, X[i:i + 1], T[i:i + 1])
            if not (np.isfinite(loss) and np.isfinite(grad).all()):
                raise _diverged(lr, s + 1, loss)
            train_loss[s] = loss
            run.params[:] -= lr * grad
    nodes = {k: np.stack([d[k] for d in per_step]) for k in per_step[0]}
    return Recording(params, order, train_loss, nodes, losses, check_steps,
                     np.asarray(check_params), checks, lr, Xs)


def _diverged(lr: float, step: int, loss: object) -> ValueError:
    return ValueError(f"lr={lr!r}: stochastic gradient descent diverged by step {step} (loss "
                      f"{loss}); try a smaller learning rate")


def _nodes(net: MLP, X: np.ndarray, T: np.ndarray, eng: object) -> dict[str, np.ndarray]:
    """Every node of every example of the batch, and ∂l/∂x = ∂l/∂k¹ · W⁰ (slide 46's step,
    one layer further down)."""
    out = eng.nodes(net, X, T)                                    # type: ignore[attr-defined]
    keep = {k: np.asarray(v, dtype=float) for k, v in out.items()
            if k[0] in "kh" and k[1:2].isdigit()}
    keep["x_grad"] = keep["k1_grad"] @ net.weights(0)
    return keep


def _checks(net: MLP, X: np.ndarray, T: np.ndarray, idx: np.ndarray, eps: float,
            checks: dict[str, np.ndarray], c: int) -> None:
    """explain's checks of ∂l/∂w for the parameters ``idx``, example by example."""
    scalar, vectorized = get_engine("scalar"), get_engine("vectorized")
    for e in range(X.shape[0]):
        x, t = X[e:e + 1], T[e:e + 1]
        checks["scalar"][c, e] = scalar.loss_and_grad(net, x, t)[1][idx]
        checks["vectorized"][c, e] = vectorized.loss_and_grad(net, x, t)[1][idx]
        fd, fwd, bwd = difference_quotients(net, x, t, vectorized, eps, indices=idx)
        checks["fd"][c, e], checks["forward"][c, e], checks["backward"][c, e] = fd, fwd, bwd
