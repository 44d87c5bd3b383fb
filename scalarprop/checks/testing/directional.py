"""The fast check: the gradient along a few random directions, then narrowed to the culprit.

For a unit direction ``u``, the gradient predicts the slope of ``f`` along it,
``uᵀ∇f``; the directional central differences measure that slope with 5 evaluations of
``f`` (two steps, and one that measures rounding), whatever the number of parameters ``P``
(the full check needs ``4P``). A wrong
element ``i`` shows in every direction with ``uᵢ ≠ 0`` (random Gaussian directions: all of
them). When a direction disagrees, the same ``u`` restricted to each parameter block (a
layer's ``W``, its ``b``) says which block is wrong, and halving the block again and again
finds the element: ``O(log P)`` more checks per wrong element found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .arguments import U
from .differences import STEP_AUTO, richardson_estimate
from .report import FACTOR


@dataclass
class Slope:
    """One directional comparison: the gradient's prediction ``analytic = gᵀv``, the measured
    slope ``numeric`` and its estimated error; ``where`` names the elements ``v`` moves."""

    where: str
    analytic: float
    numeric: float
    estimated: float

    @property
    def ok(self) -> bool:
        # an infinite gradient makes an infinite estimate: finiteness is checked first
        finite = np.isfinite(self.analytic) and np.isfinite(self.numeric)
        return bool(finite and abs(self.analytic - self.numeric) <= FACTOR * self.estimated)

    def __str__(self) -> str:
        return (f"  {self.where:<22}{self.analytic:>14.6g}{self.numeric:>14.6g}"
                f"{abs(self.analytic - self.numeric):>11.2e}{self.estimated:>11.2e}  "
                f"{'ok' if self.ok else 'FAIL'}")


@dataclass
class DirectionalCheck:
    """The outcome of :func:`directional_check`: every direction's slope, and for the ones
    that disagree, the blocks and elements the narrowing found. ``str()`` is the report."""

    directions: list[Slope]
    blocks: list[Slope] = field(default_factory=list)
    elements: list[tuple[int, Slope]] = field(default_factory=list)
    evaluations: int = 0
    engine: str = ""

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.directions)

    @property
    def failures(self) -> list[str]:
        """The names of the elements found wrong (worst first)."""
        return [slope.where for _, slope in self.elements]

    def __str__(self) -> str:
        header = (f"  {'along':<22}{'analytic':>14}{'numeric':>14}{'abs err':>11}"
                  f"{'est err':>11}  status")
        verdict = "OK" if self.ok else "FAILED"
        engine = f"{self.engine} engine, " if self.engine else ""
        lines = [f"directional check ({engine}fast=True) along {len(self.directions)} random "
                 f"directions "
                 f"({self.evaluations} evaluations of the function): {verdict}",
                 f"  a slope passes when |analytic - numeric| <= {FACTOR:g} x its estimated "
                 "error", header] + [str(d) for d in self.directions]
        if self.blocks:
            lines += ["narrowed down by block:", header] + [str(b) for b in self.blocks]
        if self.elements:
            lines += ["narrowed down to elements:", header] + [str(e) for _, e in self.elements]
        elif not self.ok:
            lines.append("  (no single element found: the error is spread thin)")
        return "\n".join(lines)


class Slopes:
    """Measures slopes of ``f`` at ``x0`` (flat) along restricted directions."""

    def __init__(self, along: Callable[[np.ndarray, float], float], f0: float,
                 grad: np.ndarray, scale: np.ndarray, step: float) -> None:
        self.along, self.f0, self.grad, self.scale = along, f0, grad, scale
        self.step = step
        self.evaluations = 0

    def slope(self, u: np.ndarray, index: np.ndarray, where: str) -> Slope:
        """``u`` restricted to ``index``, each element scaled by ``max(|x|, 1)``."""
        v = np.zeros_like(self.grad)
        v[index] = u[index] * self.scale[index]
        # the step moves the element that moves most by the usual relative step
        t = self.step / max(np.abs(u[index]).max(), 1e-300)

        def f_at(i: int, s: float, text: str) -> float:
            self.evaluations += 1
            return self.along(v, s)

        est = richardson_estimate(f_at, self.f0, np.zeros(1), np.array([t]),
                                  lambda i, sign, s: f"(x{sign}{s:.3g}·v)")
        products = self.grad[index] * v[index]
        analytic = float(products.sum())
        rounding = 8 * U * float(np.abs(products).sum())    # the dot product's own rounding
        return Slope(where, analytic, float(est.numeric[0]),
                     float(est.truncation[0] + est.rounding[0]) + rounding)


def narrow(slopes: Slopes, u: np.ndarray, index: np.ndarray, names: Sequence[str],
           found: list[tuple[int, Slope]], limit: int) -> None:
    """Halve ``index`` (which disagrees along ``u``) until single elements, depth first."""
    if len(found) >= limit:
        return
    if len(index) == 1:
        i = int(index[0])
        element = slopes.slope(u, index, names[i])
        if not element.ok:
            found.append((i, element))
        return
    for half in (index[: len(index) // 2], index[len(index) // 2:]):
        if len(found) >= limit:
            return
        first, last = names[int(half[0])], names[int(half[-1])]
        part = slopes.slope(u, half, first if len(half) == 1 else f"{first}..{last}")
        if not part.ok:
            narrow(slopes, u, half, names, found, limit)


def directional_check(along: Callable[[np.ndarray, float], float], f0: float,
                      grad: np.ndarray, x0: np.ndarray, names: Sequence[str],
                      blocks: Sequence[tuple[str, np.ndarray]], directions: int, seed: int,
                      limit: int = 5, step: float = STEP_AUTO) -> DirectionalCheck:
    """Compare ``grad`` (flat) with the slopes of ``f`` along ``directions`` random unit
    directions; ``along(v, t) = f(x0 + t v)``. On a disagreement, narrow down through
    ``blocks`` (name, flat indices) to at most ``limit`` elements. ``step``: the largest
    move of an element, relative to ``max(|x|, 1)``."""
    slopes = Slopes(along, f0, grad, np.maximum(np.abs(x0), 1.0), step)
    rng = np.random.default_rng(seed)
    everything = np.arange(grad.size)
    result = DirectionalCheck([])
    for d in range(directions):
        u = rng.standard_normal(grad.size)
        u /= np.linalg.norm(u)
        result.directions.append(slopes.slope(u, everything, f"direction {d}"))
        if result.directions[-1].ok or result.elements:
            continue
        for name, index in blocks:
            block = slopes.slope(u, index, name)
            if not block.ok:
                result.blocks.append(block)
                narrow(slopes, u, index, names, result.elements, limit)
    result.evaluations = slopes.evaluations + 1
    return result
