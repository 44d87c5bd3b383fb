"""Two engines on the same batch, node by node: do they compute the same numbers?

The engines share no code path (each is written from its own part of the lecture), so their
agreement to rounding is evidence that both are right. A disagreement anywhere the comparison
looks makes the comparison fail, and the report says where:

* a node or parameter whose values differ by more than the tolerance (relative to the scale
  of the pass, see :class:`EngineComparison`);
* a non-finite value (NaN or inf) in the loss, any node or any gradient, in either engine,
  even when both engines give the same inf: an overflow is not an agreement;
* a node one engine has and the other lacks, or a node of a different shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engines import get_engine
from ..validate import check_batch

#: keys of an engine's ``nodes()`` that are not nodes
NOT_NODES = ("loss", "grad")


@dataclass
class EngineComparison:
    """The largest difference between two engines at every node and parameter.

    ``rows`` maps a node name (``k1``, ``h1``, …, ``loss``) to ``(value diff, gradient
    diff)``; ``param_diff`` holds every parameter's gradient difference; ``problems`` lists
    what no tolerance excuses (non-finite values, missing nodes, shape mismatches), each
    naming its node or parameter. One exception, in ``notes``: with bce/ce the output's
    ``dl/dy = -t/y`` is not used by backprop (the gradient comes from the logits) and
    overflows to inf where ``y`` rounds to 0; the same inf in both engines there is noted.

    Relative differences are taken against the pass's scale: the largest value of any node
    (forward) and the largest gradient of any node or parameter (backward). Rounding errors
    are relative to the largest numbers combined: a ``k`` that cancels to nearly 0, or a
    softmax gradient ``y (y' − Σ y' y)``, carries the error of the terms it came from.
    """

    engines: tuple[str, str]
    rows: dict[str, tuple[float, float]]
    param_diff: np.ndarray
    value_scale: float
    grad_scale: float
    names: list[str]
    own_scale: dict[str, float] = field(default_factory=dict)  # rows measured on their own
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def max_rel(self) -> float:
        """The largest difference relative to its scale (inf when there are problems)."""
        if self.problems:
            return float("inf")
        v = max([r[0] for r in self.rows.values()], default=0.0)
        g = max([r[1] for k, r in self.rows.items() if k not in self.own_scale]
                + [self.param_diff.max(initial=0.0)])
        own = [self.rows[k][1] / s if s > 0 else self.rows[k][1]
               for k, s in self.own_scale.items()]
        return float(max([v / self.value_scale if self.value_scale > 0 else v,
                          g / self.grad_scale if self.grad_scale > 0 else g] + own))

    def ok(self, tol: float = 1e-12) -> bool:
        """True when every node and parameter agrees within ``tol`` relative to its scale and
        nothing is non-finite, missing or misshapen."""
        if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) \
                or not tol >= 0:
            raise ValueError(f"tol={tol!r}: expected a number >= 0")
        return not self.problems and self.max_rel <= tol

    @property
    def worst_param(self) -> str:
        if self.param_diff.size == 0:
            return "-"
        return self.names[int(np.argmax(self.param_diff))]

    def __str__(self) -> str:
        a, b = self.engines
        verdict = f"DISAGREE ({len(self.problems)} problems)" if self.problems else \
            f"max relative to scale {self.max_rel:.2e}"
        lines = [f"{a} vs {b}: largest |difference| per node ({verdict})"]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  {'node':<10}{'value':>12}{'gradient':>12}")
        for name, (v, g) in self.rows.items():
            gtxt = f"{g:>12.2e}" if name != "loss" else f"{'':>12}"
            lines.append(f"  {name:<10}{v:>12.2e}{gtxt}")
        lines.append(f"  {'params':<10}{'':>12}{self.param_diff.max(initial=0):>12.2e}"
                     f"  (worst {self.worst_param}, {len(self.names)} parameters)")
        return "\n".join(lines)


def index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def first_nonfinite(name: str, engines: tuple[str, str], a: np.ndarray, b: np.ndarray,
                    labels: list[str] | None = None) -> str | None:
    """Where the first NaN or inf of ``a`` or ``b`` is, in words; None if all finite."""
    for engine, arr in zip(engines, (a, b)):
        bad = np.argwhere(~np.isfinite(np.atleast_1d(arr)))
        if len(bad) == 0:
            continue
        if arr.ndim == 0:
            return f"{name} is {arr[()]} in {engine}"
        index = tuple(int(i) for i in bad[0])
        where = labels[index[0]] if labels is not None else f"{name}{index_text(index)}"
        return (f"{where} is {arr[index]} in {engine} ({len(bad)} non-finite "
                f"{'entry' if len(bad) == 1 else 'entries'} in {name})")
    return None


def difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(largest |a - b|, largest |a| or |b|)`` over finite, equally shaped arrays."""
    d = float(np.abs(a - b).max(initial=0.0))
    return d, float(max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0)))


def compare_engines(net: Any, X: Any, T: Any, engines: tuple[str, str] = ("scalar", "vectorized")
                    ) -> EngineComparison:
    """Run two engines on the same batch and report, node by node, how far apart they are."""
    if len(engines) != 2:
        raise ValueError(f"engines={engines!r}: expected two engine names")
    ea, eb = get_engine(engines[0]), get_engine(engines[1])
    names = (ea.name, eb.name)
    Xc, Tc = check_batch(net, X, T)
    na, nb = ea.nodes(net, Xc, Tc), eb.nodes(net, Xc, Tc)
    rows: dict[str, tuple[float, float]] = {}
    problems: list[str] = []
    value_scale = grad_scale = 0.0
    own_scale: dict[str, float] = {}
    notes: list[str] = []
    # bce/ce differentiate from the logits: their dl/dy never enters k'
    unused = f"h{net.num_layers}_grad" if net.loss in ("bce", "ce") else None

    def pair(key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Both engines' arrays for ``key``, or None (and a problem) if they cannot be
        compared element by element."""
        if key not in na or key not in nb:
            missing = names[0] if key not in na else names[1]
            problems.append(f"node {key} is missing in {missing}")
            return None
        a = np.asarray(na[key], dtype=float)
        b = np.asarray(nb[key], dtype=float)
        if a.shape != b.shape:
            problems.append(f"node {key} has shape {a.shape} in {names[0]} but {b.shape} "
                            f"in {names[1]}")
            return None
        labels = net.param_names if key == "grad" else None
        bad = first_nonfinite(key, names, a, b, labels)
        if bad is None:
            return a, b
        overflow = ~np.isfinite(a)
        if key == unused and np.array_equal(overflow, ~np.isfinite(b)) \
                and np.array_equal(a[overflow], b[overflow]):
            notes.append(f"{bad}, the same in both; not used by backprop: {unused} = -t/y "
                         "overflows where y rounds to 0, the gradient comes from the logits")
            finite = np.isfinite(a)
            return np.where(finite, a, 0.0), np.where(finite, b, 0.0)
        problems.append(bad)
        return None

    values = [k for k in dict.fromkeys(list(na) + list(nb))
              if k not in NOT_NODES and not k.endswith("_grad")]
    for key in values:
        v_pair, g_pair = pair(key), pair(f"{key}_grad")
        v = g = float("nan")
        if v_pair is not None:
            v, vs = difference(*v_pair)
            value_scale = max(value_scale, vs)
        if g_pair is not None:
            g, gs = difference(*g_pair)
            if f"{key}_grad" == unused:
                own_scale[key] = gs
            else:
                grad_scale = max(grad_scale, gs)
        rows[key] = (v, g)
    loss_pair = pair("loss")
    if loss_pair is not None:
        v, vs = difference(*loss_pair)
        rows["loss"] = (v, 0.0)
        value_scale = max(value_scale, vs)
    grad_pair = pair("grad")
    param_diff = np.zeros(net.num_params)
    if grad_pair is not None:
        param_diff = np.abs(grad_pair[0] - grad_pair[1])
        grad_scale = max(grad_scale, difference(*grad_pair)[1])
    return EngineComparison(names, rows, param_diff, value_scale, grad_scale,
                            net.param_names, own_scale, problems, notes)
