"""Per-example gradient checks for a batch: which example's gradient is wrong.

A batch's loss is the sum of its examples' losses (the lecture's convention), and so is its
gradient. Checking the batch alone can hide a bug that some examples meet and others do not
(or that two examples' errors cancel). Here every example is checked on its own against
finite differences of its own loss, and the batch gradient against the sum of the
examples' gradients (equal up to rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engines import get_engine
from ..validate import check_batch
from .gradcheck import GradientCheck, check_gradients
from .testing.arguments import U
from .testing.report import FACTOR


@dataclass
class ExampleCheck:
    """The outcome of :func:`check_examples`: one :class:`GradientCheck` per example, and how
    far the batch gradient is from the sum of the examples' gradients."""

    examples: list[GradientCheck]
    batch_grad: np.ndarray
    sum_of_examples: np.ndarray
    names: list[str]

    @property
    def failing_examples(self) -> list[int]:
        return [n for n, result in enumerate(self.examples) if not result.ok]

    @property
    def sum_gap(self) -> np.ndarray:
        return np.abs(self.batch_grad - self.sum_of_examples)

    @property
    def sum_allowed(self) -> np.ndarray:
        """Rounding of a sum of N gradients: ``FACTOR·N·u`` times the sum of their sizes."""
        sizes = np.sum([np.abs(r.analytic) for r in self.examples], axis=0)
        return FACTOR * len(self.examples) * U * sizes

    @property
    def sum_ok(self) -> bool:
        return bool(np.all(self.sum_gap <= self.sum_allowed))

    @property
    def ok(self) -> bool:
        return self.sum_ok and not self.failing_examples

    def __str__(self) -> str:
        N = len(self.examples)
        lines = [f"per-example gradient check ({N} examples): "
                 f"{'OK' if self.ok else 'FAILED'}"]
        for n in self.failing_examples:
            failures = self.examples[n].failures
            lines.append(f"  example {n}: {len(failures)} parameters fail, worst "
                         f"{self.examples[n].worst} ({', '.join(failures[:5])}"
                         f"{', ...' if len(failures) > 5 else ''})")
        if not self.sum_ok:
            q = int(np.argmax(self.sum_gap - self.sum_allowed))
            lines.append(f"  the batch gradient is not the sum of the examples' gradients: "
                         f"{self.names[q]} is {self.batch_grad[q]:.10g} for the batch, "
                         f"{self.sum_of_examples[q]:.10g} summed")
        if self.ok:
            lines.append("  every example agrees with its finite differences, and the batch "
                         "gradient is their sum")
        return "\n".join(lines)


def check_examples(net: Any, X: Any, T: Any, engine: str = "scalar", eps: float | None = None,
                   raise_on_failure: bool = False) -> ExampleCheck:
    """Check ``engine``'s gradient example by example (a batch of one each, the automatic
    tolerance of :func:`check_gradients`), and the batch's gradient against their sum.
    Costs what the full check of the batch costs. ``raise_on_failure=True`` raises
    ``AssertionError`` with the report."""
    eng = get_engine(engine)
    Xc, Tc = check_batch(net, X, T)
    results = [check_gradients(net, Xc[n:n + 1], Tc[n:n + 1], engine, eps=eps)
               for n in range(Xc.shape[0])]
    _, batch = eng.loss_and_grad(net, Xc, Tc)
    summed = np.sum([r.analytic for r in results], axis=0)
    result = ExampleCheck(results, np.asarray(batch, dtype=float), summed, net.param_names)
    if raise_on_failure and not result.ok:
        raise AssertionError(str(result))
    return result
