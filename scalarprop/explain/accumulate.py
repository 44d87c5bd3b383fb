"""The accumulated form (slides 45-46): what backpropagation computes instead of listing paths.
From the loss down, one layer at a time, the global derivative of every node from the layer
above, ``∂l/∂h_j = Σ_m ∂l/∂k_m · W_mj`` and ``∂l/∂k = ∂l/∂h ⊙ σ'(k)``, down to the parameter,
``∂l/∂W_ji = ∂l/∂k_j · h_i``. The numbers are the engine's backward pass; the formulas are the
lecture's."""

from __future__ import annotations

import numpy as np

from .names import h_node, k_node
from .notation import (
    LOSS,
    Math,
    activation_gradient,
    dot,
    hadamard,
    indexed,
    layer_math,
    loss_gradient,
    num,
    partial,
    softmax_backward,
    sum_over,
    symbol,
    word,
    wrap,
)
from .paths import Graph
from .result import Step

#: how many terms of a sum are written out
SHOWN_TERMS = 8


def _step(of: Math, formula: Math, values: np.ndarray, nodes: list[str],
          terms: str = "") -> Step:
    d = partial(LOSS, of)
    return Step(d.text, formula.text, np.asarray(values, dtype=float), tuple(nodes), d.tex,
                formula.tex, terms)


def _sum_formula(g: Graph, l: int) -> Math:
    """∂l/∂h of layer l as the sum over the layer above (slide 30)."""
    above = layer_math(g.net, "k", l + 1)
    if g.L == 2:                                # one hidden layer: to the outputs through v
        if g.K == 1:
            return dot(partial(LOSS, above), symbol("v", ("j",)))
        return sum_over("m", dot(partial(LOSS, indexed(above, "m")), symbol("v", ("j", "m"))))
    return sum_over("m", dot(partial(LOSS, indexed(above, "m")), symbol("W", ("m", "j"), l + 1)))


def accumulate(g: Graph) -> tuple[dict[str, float], list[Step], float]:
    """``∂l/∂node`` for every unit, the steps that show it (the loss down to the parameter's
    layer), and ``∂l/∂parameter``."""
    net, L, K, numbers = g.net, g.L, g.K, g.engine_nodes
    grads: dict[str, float] = {}
    steps: list[Step] = []
    z, y, t = layer_math(net, "k", L), symbol("y"), symbol("t")
    dz = numbers[f"k{L}_grad"][0]
    logits = [k_node(L, m) for m in range(K)]
    if net.loss == "ce":
        steps.append(_step(z, loss_gradient("ce", y, word("onehot(t)", r"\mathrm{onehot}(t)")),
                           dz, logits))
    elif g.logits:
        steps.append(_step(z, loss_gradient(net.loss, y, t), dz, logits))
    else:
        dy = numbers[f"h{L}_grad"][0]
        outputs = [h_node(L, m) for m in range(K)]
        steps.append(_step(y, loss_gradient(net.loss, y, t), dy, outputs))
        grads.update({node: float(dy[m]) for m, node in enumerate(outputs)})
        if net.output == "softmax":
            steps.append(_step(z, softmax_backward(), dz, logits))
        elif net.output == "sigmoid":
            steps.append(_step(z, hadamard(partial(LOSS, y),
                                           activation_gradient("sigmoid", y, z)), dz, logits))
    grads.update({node: float(dz[m]) for m, node in enumerate(logits)})
    _, l0, j0, i0 = g.position
    # every layer down to the first (node_grads); the steps shown stop at the parameter's
    for l in range(L - 1, 0, -1):
        dh, dk = numbers[f"h{l}_grad"][0], numbers[f"k{l}_grad"][0]
        grads.update({h_node(l, i): float(dh[i]) for i in range(len(dh))})
        grads.update({k_node(l, i): float(dk[i]) for i in range(len(dk))})
        if l <= l0:
            continue
        h, k = layer_math(net, "h", l), layer_math(net, "k", l)
        terms = ""
        if l == l0 + 1:                     # the unit on the parameter's chain, written out
            W, above = net.weights(l), numbers[f"k{l + 1}_grad"][0]
            parts = [f"{wrap(num(above[m]))}·{wrap(num(W[m, j0]))}" for m in range(W.shape[0])]
            shown = " + ".join(parts[:SHOWN_TERMS])
            if len(parts) > SHOWN_TERMS:
                shown += " + …"
            terms = f"{g.sym(h_node(l, j0)).text} = {shown} = {num(dh[j0])}"
        steps.append(_step(h, _sum_formula(g, l), dh,
                           [h_node(l, i) for i in range(len(dh))], terms))
        steps.append(_step(k, hadamard(partial(LOSS, h), activation_gradient(net.hidden, h, k)),
                           dk, [k_node(l, i) for i in range(len(dk))]))
    dk = numbers[f"k{l0 + 1}_grad"][0]
    source = 1.0 if i0 is None else g.value(h_node(l0, i0))
    gradient = float(dk[j0] * source)
    k = g.sym(k_node(l0 + 1, j0))
    source_math = word("1") if i0 is None else g.sym(h_node(l0, i0))
    steps.append(_step(g.sym(g.weight), dot(partial(LOSS, k), source_math),
                       np.array([gradient]), [g.weight],
                       f"= {wrap(num(dk[j0]))} · {wrap(num(source))} = {num(gradient)}"))
    return grads, steps, gradient
