"""One weight's gradient as the lecture derives it (slides 30-56): the chain of local
derivatives, filled in with the numbers of one forward pass.

``explain(net, x, t, weight)`` breaks ``∂l/∂weight`` for one example into the lecture's
operations (``k = W x + b``, ``h = σ(k)``, ``y = V h + c``, ``l = loss(y, t)``), writes each
local derivative symbolically and numerically, and multiplies them (slides 41-45)::

    ∂l/∂w₁₂ = ∂l/∂y · ∂y/∂h₂ · ∂h₂/∂k₂ · ∂k₂/∂w₁₂ = 2(y − t) · v₂ · h₂(1 − h₂) · x₁

Where the weight reaches the loss along several paths (several outputs, deeper networks), each
path's product is listed and summed: the multivariate chain rule (slide 30). Beyond
``max_paths`` paths (64) only the accumulated form that backpropagation computes is shown,
``∂l/∂h_j = Σ_m ∂l/∂k_m · W_mj`` layer by layer (slides 45-46). The result is checked against
both engines and a central finite difference, and read as gradient descent would (slides 47-53).

The modules, in the order the derivation uses them:

* :mod:`.names`: naming a parameter (``"W0[1,0]"``, a flat index, the lecture's ``"w12"``)
  and the node identifiers (``"x[0]"``, ``"k1[1]"``, ``"h1[1]"``, ``"h2[0]"``, ``"loss"``)
  that explain, :func:`scalarprop.draw` and the engines' ``nodes`` share;
* :mod:`.notation`: symbols and formulas, each written once, rendered as text and as TeX;
* :mod:`.paths`: the computation graph, its local derivatives and the paths;
* :mod:`.accumulate`: the accumulated form (backpropagation, slides 45-46);
* :mod:`.reading`: the gradient-descent reading (slides 47-53);
* :mod:`.result`: :class:`Explanation`, with ``str()``, :meth:`~Explanation.to_markdown` and
  :meth:`~Explanation.to_dict`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks.gradcheck import at_kink, difference_quotients
from ..engines import get_engine
from ..network import MLP
from ..validate import check_T, check_X
from .accumulate import accumulate
from .names import h_node, k_node, lecture_name_of, parse_unit, parse_weight, valid_names
from .notation import (
    LOSS,
    SUBSCRIPT,
        indexed,
    layer_math,
    node_symbol,
    number,
    partial,
    sum_over,
    symbol,
    times,
)
from .paths import SATURATED, Graph
from .reading import context, outputs, reading
from .result import Explanation, Factor, Path, Step, make_factor

__all__ = ["MAX_PATHS", "SATURATED", "SUBSCRIPT", "Explanation", "Factor", "Path", "Step",
           "explain", "h_node", "k_node", "lecture_name_of", "node_symbol", "parse_unit",
           "parse_weight", "valid_names"]

#: the number of paths up to which every path is listed
MAX_PATHS = 64


def explain(net: MLP, x: Any, t: Any, weight: str | int, *, eps: float = 1e-6,
            max_paths: int = MAX_PATHS) -> Explanation:
    """Derive ``∂l/∂weight`` for one example ``(x, t)`` as the lecture does (slides 41-53).

    Args:
        net: the network (its parameters are read, and restored after the finite difference).
        x: one example, shape ``(sizes[0],)`` or ``(1, sizes[0])``.
        t: its target, as the loss expects (a class index for ``ce``).
        weight: a parameter name (``"W0[1,0]"``, ``"b1[0]"``), a flat index (``5`` or
            ``"5"``), or for a network with one hidden layer the lecture's ``"w12"``,
            ``"b2"``, ``"v2"``, ``"c"`` (see :mod:`scalarprop.explain.names`).
        eps: the step of the central finite difference.
        max_paths: list every path while there are at most this many.

    Raises:
        ValueError: an unknown or out-of-range weight (the message lists the valid names), an
            example of the wrong shape or more than one example, a bad target, parameters
            that are not finite.
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net: expected a scalarprop.MLP, got {type(net).__name__}")
    X, _ = check_X(net, x, "x")
    if X.shape[0] != 1:
        raise ValueError(f"x: explain takes one example, shape ({net.sizes[0]},), got "
                         f"{np.shape(x)} ({X.shape[0]} examples)")
    T = check_T(net, t, 1, "t")
    index = parse_weight(net, weight)
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps={eps!r}: expected a positive finite step")
    if isinstance(max_paths, bool) or not isinstance(max_paths, (int, np.integer)) \
            or max_paths < 1:
        raise ValueError(f"max_paths={max_paths!r}: expected a positive integer")
    bad = np.flatnonzero(~np.isfinite(net.params))
    if bad.size:
        raise ValueError(f"net: parameter {net.param_name(int(bad[0]))} is "
                         f"{net.params[bad[0]]}" + (f" (and {bad.size - 1} more are not "
                                                     "finite)" if bad.size > 1 else "")
                         + "; explain needs finite parameters")
    graph = Graph(net, X, T, index, get_engine("scalar").nodes(net, X, T))
    return _derivation(graph, float(eps), int(max_paths))


def _chain(graph: Graph, grads: dict[str, float], num_paths: int
           ) -> tuple[list[Factor], str | None]:
    """The gradient written as one product, loss first: up from the parameter while the path
    does not split; where it splits, the accumulated ``∂l/∂node`` (the multivariate chain
    rule, slide 30: ``Σ_m ∂l/∂a_m · ∂a_m/∂node``). Returns it and the node where it split."""
    chain: list[Factor] = []
    node = graph.weight
    while node != "loss" and len(graph.up(node)) == 1:
        edge = graph.up(node)[0]
        chain.append(edge.factor)
        node = edge.nodes[-1]
    branch = None if node == "loss" else node
    if branch is not None:
        # a softmax's logit feeds every y; an activation feeds every k of the next layer
        letter, l, _ = parse_unit(branch)
        above = symbol("y") if letter == "k" else layer_math(graph.net, "k", l + 1)
        a, s, g = indexed(above, "m"), graph.sym(branch), grads[branch]
        chain.append(make_factor(LOSS, s, (branch, "loss"), "accumulated",
                                 sum_over("m", times(partial(LOSS, a), partial(a, s))),
                                 number(g), g, f"summed over {num_paths} paths"))
    chain.reverse()
    return chain, branch


def _derivation(graph: Graph, eps: float, max_paths: int) -> Explanation:
    """The paths (or the accumulated form), the chain, the checks and the reading."""
    net, index = graph.net, graph.index
    num_paths = graph.count_paths()
    grads, steps, accumulated = accumulate(graph)
    paths = graph.enumerate_paths() if num_paths <= max_paths else []
    path_sum = float(sum(p.value for p in paths)) if paths else None
    gradient = path_sum if path_sum is not None else accumulated
    chain, branch = _chain(graph, grads, num_paths)
    _, vectorized_grad = get_engine("vectorized").loss_and_grad(net, graph.X, graph.T)
    engines = {"scalar": float(graph.engine_nodes["grad"][index]),
               "vectorized": float(vectorized_grad[index])}
    # the central quotient, and the one-sided ones that tell a kink (params restored)
    fd, forward, backward = difference_quotients(net, graph.X, graph.T,
                                                 get_engine("vectorized"), eps,
                                                 indices=[index])
    kink = at_kink(net, np.array([gradient]), forward, backward, atol=1e-5, rtol=1e-3)[0]
    wants = outputs(graph)
    w = graph.sym(graph.weight)
    return Explanation(
        weight=graph.weight, index=index, value=float(net.params[index]), symbol=w.text,
        latex=w.tex, lecture_name=lecture_name_of(net, index),
        network=(f"network {'-'.join(map(str, net.sizes))}, hidden {net.hidden}, output "
                 f"{net.output}, loss {net.loss}"),
        x=graph.x.copy(), t=graph.t.copy(), y=graph.y.copy(), loss=graph.loss,
        factors=tuple(chain), branch=branch, paths=tuple(paths), num_paths=num_paths,
        max_paths=max_paths, path_sum=path_sum, accumulated=tuple(steps), node_grads=grads,
        node_values=_node_values(graph), gradient=float(gradient), engines=engines,
        finite_difference=float(fd[0]), one_sided=(float(backward[0]), float(forward[0])),
        eps=eps, at_kink=bool(kink), update_direction=-int(np.sign(gradient)),
        reading=tuple(reading(graph, chain, paths, float(gradient), num_paths, wants)),
        context=tuple(context(chain, wants)), symbols=_symbols(graph),
        path_edges=graph.edge_set())


def _node_values(graph: Graph) -> dict[str, float]:
    """The forward pass's value of every node identifier."""
    values = {f"x[{i}]": float(v) for i, v in enumerate(graph.x)}
    for l in range(1, graph.L + 1):
        values.update({k_node(l, j): float(v) for j, v in enumerate(graph.k[l])})
        values.update({h_node(l, j): float(v) for j, v in enumerate(graph.h[l])})
    values.update({f"t[{m}]": float(v) for m, v in enumerate(graph.t)})
    values["loss"] = graph.loss
    return values


def _symbols(graph: Graph) -> dict[str, str]:
    """The display symbol of the parameter and of every node identifier."""
    nodes = [graph.weight, *_node_values(graph)]
    return {n: graph.sym(n).text for n in nodes}
