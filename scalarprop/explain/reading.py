"""The gradient-descent reading (slides 47-53): which way the loss wants each output to move,
which way each node on the chain must move for that, and so which way ``w ← w − α·∂l/∂w``
moves the parameter. A negative weight or input flips the direction; a saturated unit shrinks
the step; a ReLU that is off, or a met hinge margin, blocks it."""

from __future__ import annotations

import numpy as np

from .names import h_node, k_node, parse_unit
from .notation import num, wrap
from .paths import Graph
from .result import Factor, Path


def outputs(g: Graph) -> list[tuple[str, str, int]]:
    """Per output: (what is wrong, the node the loss reads, which way l wants it: ±1/0),
    before any weight is involved (slides 47-48)."""
    net, out = g.net, []
    for m in range(g.K):
        y = float(g.y[m])
        ys = g.sym(h_node(g.L, m)).text
        zs = g.sym(k_node(g.L, m)).text
        if net.loss in ("squared", "absolute"):
            t = float(g.t[m])
            ts = g.sym(f"t[{m}]").text
            if y == t:
                out.append((f"{ys} = {ts} = {num(y)}: no error", ys, 0))
            else:
                hi = y > t
                out.append((f"{ys} = {num(y)} is {'above' if hi else 'below'} {ts} = "
                            f"{num(t)} (output too {'high' if hi else 'low'})", ys,
                            -1 if hi else 1))
        elif net.loss == "hinge":
            t = float(g.t[0])
            if 1 - t * y > 0:
                out.append((f"t·y = {num(t * y)} < 1: the margin is not met, y should "
                            f"move toward t = {num(t)}", ys, int(np.sign(t))))
            else:
                out.append((f"t·y = {num(t * y)} ≥ 1: the margin is met, the hinge is "
                            "flat and this example teaches nothing", ys, 0))
        elif net.loss == "bce":
            t = float(g.t[m])
            hi = y > t
            out.append((f"{ys} = σ({zs}) = {num(y)} is the predicted probability, target "
                        f"{num(t)} (too {'high' if hi else 'low'})", zs, -1 if hi else 1))
        else:
            if int(g.t[0]) == m:
                out.append((f"{ys} = {num(y)} is the probability of the true class "
                            f"(t = {int(g.t[0])}), below 1", zs, 1))
            else:
                out.append((f"{ys} = {num(y)} is probability given to a wrong class",
                            zs, -1))
    return out


def context(chain: list[Factor], outputs: list[tuple[str, str, int]]) -> list[str]:
    """What the loss wants of each output (:func:`outputs`), when the chain does not start
    at one."""
    if chain[0].kind != "accumulated":
        return []
    arrows = {1: "up", -1: "down", 0: "where it is"}
    return [f"{why}: l wants {node} {arrows[d]}" for why, node, d in outputs]


def reading(g: Graph, chain: list[Factor], paths: list[Path], gradient: float,
            num_paths: int, outputs: list[tuple[str, str, int]]) -> list[str]:
    """Slides 47-53: which way the loss wants each node on the chain to move, from the top
    down, and so which way gradient descent moves the weight."""
    w = g.sym(g.weight).text
    arrows = {1: "up", -1: "down", 0: "unchanged"}
    lines = []
    top = chain[0]
    lower = g.sym(top.nodes[0]).text
    want = -top.sign
    cmp = {1: "> 0", -1: "< 0", 0: "= 0"}
    if top.kind == "accumulated":
        lines.append(f"summed over the {num_paths} paths, {top.symbol} = "
                     f"{num(top.value)} {cmp[top.sign]}: l wants {lower} {arrows[want]}")
    else:
        why = outputs[parse_unit(top.nodes[0])[2]][0]     # the output the chain starts at
        lines.append(f"{why}, {top.symbol} = {top.formula} = {num(top.value)} "
                     f"{cmp[top.sign]}: l wants {lower} {arrows[want]}"
                     + (f" ({top.note})" if top.note and top.sign == 0 else ""))
    for f in chain[1:]:
        if want == 0:
            break
        upper, lower = g.sym(f.nodes[-1]).text, g.sym(f.nodes[0]).text
        value = f"{f.symbol} = {f.formula}" + ("" if f.formula == num(f.value) else
                                              f" = {num(f.value)}")
        if f.sign == 0:
            lines.append(f"{value}" + (f" ({f.note})" if f.note else "")
                         + f": moving {lower} does not move {upper}, nothing flows back")
            want = 0
            break
        new = want * f.sign
        why = f.note or ("the sign flips" if f.sign < 0 else "")
        lines.append(f"{upper} {arrows[want]} needs {lower} {arrows[new]}: {value} "
                     f"{cmp[f.sign]}" + (f" ({why})" if why else ""))
        want = new
    if len(paths) > 1:
        n_up = sum(p.sign < 0 for p in paths)
        n_down = sum(p.sign > 0 for p in paths)
        lines.append(f"path by path: {n_up} of {len(paths)} push {w} up, {n_down} push it "
                     f"down, {len(paths) - n_up - n_down} are blocked (0); their sum "
                     "decides")
    if gradient == 0:
        lines.append(f"∂l/∂{w} = 0: {w} ← {w} − α·0, {w} stays where it is")
    else:
        plus = f" = {w} + α·{num(-gradient)}" if gradient < 0 else ""
        lines.append(f"so {w} ← {w} − α·{wrap(num(gradient))}{plus}: {w} "
                     f"{'increases' if gradient < 0 else 'decreases'}")
    return lines
