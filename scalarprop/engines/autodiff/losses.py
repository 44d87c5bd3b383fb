"""The lecture's losses (part 1) written with ops, summed over the batch.

``y`` is the network's output node, ``z`` its logits (the output layer's ``k``), ``t`` the
targets (constants). As in the other engines, bce and ce are computed from the logits, which
is both stable and simple: ``bce = softplus(z) - t z`` has gradient ``σ(z) - t`` and
``ce = -log_softmax(z)_t`` has gradient ``softmax(z) - onehot(t)``. Their forms in terms of
the probabilities ``y`` (``-log y_t``; ``-t log y - (1 - t) log(1 - y)``) are here too: they
give the output's own gradient ``dl/dy``, which the node-by-node comparison reports.
"""

from __future__ import annotations

from typing import Any

from .arithmetic import square
from .core import TensorNode
from .elementwise import abs, relu, softplus
from .reductions import pick
from .softmax import log_softmax


def squared(y: TensorNode, t: Any) -> TensorNode:
    """``Σ (y - t)²`` (slide 70's loss, summed over outputs and examples)."""
    return square(y - t).sum()


def absolute(y: TensorNode, t: Any) -> TensorNode:
    """``Σ |y - t|``."""
    return abs(y - t).sum()


def hinge(y: TensorNode, t: Any) -> TensorNode:
    """``Σ max(0, 1 - t y)`` for targets in {-1, 1}."""
    return relu(1.0 - t * y).sum()


def bce_from_logits(z: TensorNode, t: Any) -> TensorNode:
    """Binary cross-entropy of ``y = σ(z)``: ``Σ softplus(z) - t z`` (targets in {0, 1})."""
    return (softplus(z) - z * t).sum()


def ce_from_logits(z: TensorNode, t: Any) -> TensorNode:
    """Cross-entropy of ``y = softmax(z)`` for class indices ``t``: ``-Σ log_softmax(z)_t``."""
    return -pick(log_softmax(z), t).sum()


#: loss name -> (function, takes the logits rather than the output); the functions take
#: targets as ``check_T`` packs them
LOSSES = {
    "squared": (squared, False),
    "absolute": (absolute, False),
    "hinge": (hinge, False),
    "bce": (bce_from_logits, True),
    "ce": (ce_from_logits, True),
}
