"""Paths: one example's computation graph around one parameter, as slide 41 draws it, with the
local derivative on every edge (slides 41-44), and the paths from the parameter to the loss
whose products add up to the gradient (the multivariate chain rule, slide 30).

The graph runs ``x → k¹ → h¹ → k² → … → h^L (= y) → l``. With an identity output ``y = z``,
one edge (and one factor, ``∂y/∂h₂ = v₂``) spans ``h → z → y``. For ``bce`` and ``ce`` the loss
is differentiated from the logits, as the engines do: the edge runs ``z_m → l`` with
``∂l/∂z_m = y_m − t_m``. A softmax output is not element-wise: each logit has an edge to every
output, ``∂y_j/∂z_m = y_j(δ_jm − y_m)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import functions as F
from ..network import MLP
from .names import h_node, k_node, parse_unit
from .notation import (
    ACTIVATION_PEAK,
    ONE,
    Math,
    activation_gradient,
    loss_gradient,
    node_math,
    num,
    number,
    param_math,
    softmax_gradient,
    word,
)
from .result import Factor, Path, make_factor

#: a sigmoid (tanh) derivative below this share of its maximum counts as saturated
SATURATED = 0.2


@dataclass(frozen=True)
class Edge:
    """An edge one operation up: its nodes (lower first) and its local derivative."""

    nodes: tuple[str, ...]
    factor: Factor


class Graph:
    """The computation graph of the example ``(X[0], T[0])`` around the parameter ``index``:
    every unit's value from an engine's ``nodes(net, X, T)``, the edges above each node and
    their local derivatives."""

    def __init__(self, net: MLP, X: np.ndarray, T: np.ndarray, index: int,
                 engine_nodes: dict[str, Any]) -> None:
        self.net, self.X, self.T = net, X, T
        self.x, self.t = X[0], T[0]
        self.L, self.K = net.num_layers, net.sizes[-1]
        self.index = index
        self.weight = net.param_name(index)
        self.position = net.param_position(index)      # (kind, layer, j, i)
        self.fused = net.output == "identity"          # y = z: one node in the display
        self.logits = net.loss in ("bce", "ce")        # the loss reads z, not y
        self.engine_nodes = engine_nodes
        self.k = {l: engine_nodes[f"k{l}"][0] for l in range(1, self.L + 1)}
        self.h = {l: engine_nodes[f"h{l}"][0] for l in range(1, self.L + 1)}
        self.h[0] = self.x
        self.y = self.h[self.L]
        self.loss = float(engine_nodes["loss"])
        self._up: dict[str, list[Edge]] = {}

    def sym(self, node: str) -> Math:
        """The display symbol of a node identifier."""
        return node_math(self.net, node)

    def value(self, node: str) -> float:
        """The forward pass's value of a unit (an input, a k or an h)."""
        letter, l, j = parse_unit(node)
        return float((self.k if letter == "k" else self.h)[l][j])     # h[0] is x

    # -- the topology --------------------------------------------------------------------------

    def targets(self, node: str) -> list[tuple[str, ...]]:
        """The edges one operation up from ``node``, each as its nodes, lower first."""
        L = self.L
        if node == "loss":
            return []
        if node == self.weight:                       # a parameter feeds its k
            _, l, j, _ = self.position
            return [self._into_k(node, l + 1, j)]
        letter, l, j = parse_unit(node)
        if letter == "h" and l == L:
            return [(node, "loss")]
        if letter == "k" and l == L and self.logits:
            return [(node, "loss")]
        if letter == "k" and l == L and self.net.output == "softmax":
            return [(node, h_node(L, m)) for m in range(self.K)]
        if letter == "k":
            return [(node, h_node(l, j))]
        # an input or a hidden activation feeds every k of the next layer
        return [self._into_k(node, l + 1, m) for m in range(self.net.sizes[l + 1])]

    def _into_k(self, node: str, l: int, j: int) -> tuple[str, ...]:
        if l == self.L and self.fused:
            return (node, k_node(l, j), h_node(l, j))
        return (node, k_node(l, j))

    def up(self, node: str) -> list[Edge]:
        """The edges from ``node`` one operation up, each with its local derivative."""
        if node not in self._up:
            self._up[node] = [Edge(n, self.local_derivative(n)) for n in self.targets(node)]
        return self._up[node]

    # -- the local derivatives (slides 41-44) --------------------------------------------------

    def local_derivative(self, nodes: tuple[str, ...]) -> Factor:
        """The local derivative on the edge ``nodes`` (lower first)."""
        lower, upper = nodes[0], nodes[-1]
        if upper == "loss":
            return self.loss_factor(lower)
        if lower == self.weight:
            return self.parameter_factor(nodes)
        letter, l, _ = parse_unit(lower)
        if letter == "k" and l == self.L and self.net.output == "softmax":
            return self.softmax_factor(nodes)
        if letter == "k" and l == self.L:
            return self.activation_factor(nodes, self.net.output, "output")
        if letter == "k":
            return self.activation_factor(nodes, self.net.hidden, "activation")
        return self.weight_factor(nodes)

    def _factor(self, nodes: tuple[str, ...], kind: str, formula: Math, numbers: Math,
                value: float, note: str = "") -> Factor:
        return make_factor(self.sym(nodes[-1]), self.sym(nodes[0]), nodes, kind, formula,
                           numbers, value, note)

    def parameter_factor(self, nodes: tuple[str, ...]) -> Factor:
        """∂k/∂b = 1, or ∂k/∂W = the value the weight multiplies."""
        kind, l, _, i = self.position
        if kind == "b":
            return self._factor(nodes, "bias", ONE, ONE, 1.0)
        source = h_node(l, i)
        v = self.value(source)
        what = "input" if l == 0 else "activation"
        if v < 0:
            note = f"negative {what}: flips the sign"
        elif v == 0:
            note = f"zero {what}: the weight had no influence"
        else:
            note = ""
        return self._factor(nodes, "input", self.sym(source), number(v), v, note)

    def weight_factor(self, nodes: tuple[str, ...]) -> Factor:
        """∂k_j/∂h_i = W[j, i]: the weight on the edge."""
        _, l, i = parse_unit(nodes[0])
        _, _, j = parse_unit(nodes[1])
        v = float(self.net.weights(l)[j, i])
        note = "negative weight: flips the sign" if v < 0 else ""
        return self._factor(nodes, "weight", param_math(self.net, "W", l, j, i), number(v), v,
                            note)

    def activation_factor(self, nodes: tuple[str, ...], name: str, kind: str) -> Factor:
        """∂h/∂k of an element-wise activation, written from the stored h as the lecture does
        (σ' = h(1 − h)); the number is :func:`scalarprop.functions.activate_grad`."""
        k, h = self.value(nodes[0]), self.value(nodes[-1])
        v = float(F.activate_grad(F.HIDDEN[name], k, h))
        peak = ACTIVATION_PEAK.get(name)
        if name == "relu":
            note = ("ReLU on (k > 0): passes the gradient" if v else
                    "ReLU off (k ≤ 0): blocks this path")
        elif name == "identity":
            note = "identity activation"
        elif peak is not None and v < SATURATED * peak:
            note = (f"saturated {name}, {self.sym(nodes[-1]).text} = {num(h)}: it resists "
                    f"change, the step shrinks ×{num(v, 2)}")
        else:
            note = ""
        formula = activation_gradient(name, self.sym(nodes[-1]), self.sym(nodes[0]))
        return self._factor(nodes, kind, formula, activation_gradient(name, number(h),
                                                                      number(k)), v, note)

    def softmax_factor(self, nodes: tuple[str, ...]) -> Factor:
        """∂y_j/∂z_m of a softmax output: y_j(δ_jm − y_m)."""
        _, _, m = parse_unit(nodes[0])
        _, _, j = parse_unit(nodes[1])
        y_j, y_m = float(self.y[j]), float(self.y[m])
        same = j == m
        formula = softmax_gradient(self.sym(nodes[1]), self.sym(h_node(self.L, m)), same)
        numbers = softmax_gradient(number(y_j), number(y_m), same)
        value = y_j * (1.0 - y_j) if same else -y_j * y_m
        note = "softmax, same output" if same else "softmax: every output depends on every logit"
        return self._factor(nodes, "output", formula, numbers, value, note)

    def loss_factor(self, node: str) -> Factor:
        """∂l/∂y_m, or ∂l/∂z_m for bce and ce (from the logits, as the engines compute it)."""
        loss = self.net.loss
        _, _, m = parse_unit(node)
        y = float(self.y[m])
        t = float(self.t[0] if loss == "ce" else self.t[m])
        ys, ts = self.sym(h_node(self.L, m)), self.sym(f"t[{m}]")
        note = ""
        if loss == "squared":
            value = 2.0 * (y - t)
        elif loss == "absolute":
            value = float(np.sign(y - t))
        elif loss == "hinge":
            active = 1.0 - t * y > 0.0
            value = -t if active else 0.0
            note = "" if active else "margin met: the hinge is flat here"
        elif loss == "bce":
            value = y - t
            note = f"from the logit: {ys.text} = σ({self.sym(node).text})"
        else:                                           # ce: t is the class index
            target = 1.0 if int(t) == m else 0.0
            ts, t = word(num(target)), target
            value = y - target
            note = (f"from the logits; output {m + 1} is "
                    f"{'the target class' if target else 'not the target class'}")
        return self._factor((node, "loss"), "loss", loss_gradient(loss, ys, ts),
                            loss_gradient(loss, number(y), number(t)), value, note)

    # -- the paths (slide 30) ------------------------------------------------------------------

    def count_paths(self) -> int:
        """How many paths lead from the parameter to the loss: the product of the widths of
        the layers above its k (fully connected), times K through a softmax into a loss of y."""
        sizes = self.net.sizes
        n = self.K if (self.net.output == "softmax" and not self.logits) else 1
        for l in range(self.position[1] + 2, self.L + 1):
            n *= sizes[l]
        return n

    def enumerate_paths(self) -> list[Path]:
        """Every path from the parameter to the loss, each with its factors (loss first)."""
        found: list[list[Edge]] = []

        def walk(node: str, so_far: list[Edge]) -> None:
            if node == "loss":
                found.append(list(so_far))
                return
            for e in self.up(node):
                so_far.append(e)
                walk(e.nodes[-1], so_far)
                so_far.pop()

        walk(self.weight, [])
        paths = []
        for edges in found:
            factors = tuple(e.factor for e in reversed(edges))
            nodes = (self.weight,) + tuple(n for e in edges for n in e.nodes[1:])
            shown = (self.weight,) + tuple(e.nodes[-1] for e in edges)
            value = float(math.prod(f.value for f in factors))
            paths.append(Path(nodes, factors, value, tuple(self.sym(n).text for n in shown)))
        return paths

    def edge_set(self) -> frozenset[tuple[str, str]]:
        """Every ``(lower, upper)`` pair of nodes on some path, without listing the paths."""
        edges: set[tuple[str, str]] = set()
        frontier, seen = [self.weight], {self.weight}
        while frontier:
            node = frontier.pop()
            for nodes in self.targets(node):
                edges.update(zip(nodes[:-1], nodes[1:]))
                if nodes[-1] not in seen:
                    seen.add(nodes[-1])
                    frontier.append(nodes[-1])
        return frozenset(edges)
