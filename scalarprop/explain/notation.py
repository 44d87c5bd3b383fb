"""Notation: symbols and formulas as the slides write them, each written once and rendered two
ways, as text for a terminal (``h₂(1 − h₂)``) and as TeX for a notebook (``h_{2}(1-h_{2})``).

A :class:`Math` is a piece of a formula in both renderings. The builders below (``minus``,
``juxt``, ``dot``, ``partial``, ...) combine them, so a formula such as ``∂h/∂k = h(1 − h)`` is
one function of its symbols. The same function, given numbers instead of symbols, writes the
formula with the forward pass's numbers (``0.99(1 − 0.99)``).

Display symbols are one-based, as on the slides. With one hidden layer: ``x_i, w_ij, b_j, k_j,
h_j, v_j, c, z, y, t`` (``z`` only when the output activation is not the identity). Other depths:
``x_i``, layer ``l``'s ``k⁽ˡ⁾_j, h⁽ˡ⁾_j``, its weights ``W⁽ˡ⁾_ji`` (to unit ``j`` from unit ``i``
below, the parameter ``W{l-1}[j-1,i-1]``) and biases ``b⁽ˡ⁾_j``; the output's ``z_m, y_m``.
``[P]`` is 1 when ``P`` holds and 0 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..network import MLP
from .names import parse_unit

#: subscript and superscript digits (and the index letters i, j, m) for text
SUBSCRIPT = str.maketrans("0123456789ijm", "₀₁₂₃₄₅₆₇₈₉ᵢⱼₘ")
SUPERSCRIPT = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
#: how a sign is shown in a table
SIGN_MARK = {1: "+", -1: "−", 0: "0"}


# -- numbers -----------------------------------------------------------------------------------


def num(v: float | None, digits: int = 6) -> str:
    """A number as the derivation prints it, with a real minus sign; ``—`` for None."""
    if v is None:
        return "—"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}".replace("-", "−")


def tex_num(v: float | None) -> str:
    """A number in TeX, powers of ten written out."""
    if v is None:
        return "-"
    if v == 0:
        return "0"
    s = f"{v:.6g}"
    if "e" in s:
        mantissa, exponent = s.split("e")
        s = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return s


def wrap(s: str) -> str:
    """Parenthesise a term of a product if it is a sum or starts with a minus sign:
    ``1 − h²`` -> ``(1 − h²)``, ``−2`` -> ``(−2)``; ``2(y − t)`` stays as it is."""
    depth = 0
    for i, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in "−-+" and not (i > 0 and s[i - 1] in "e^_"):
            return f"({s})"
    return s


def vec(a: Any) -> str:
    """A short vector as text: at most 8 numbers, then how many there are."""
    a = np.atleast_1d(np.asarray(a, dtype=float))
    items = [num(v) for v in a[:8]]
    if a.size > 8:
        items.append(f"… ({a.size} values)")
    return "[" + ", ".join(items) + "]" if a.size > 1 else items[0]


def tex_vec(a: Any) -> str:
    a = np.atleast_1d(np.asarray(a, dtype=float))
    items = [tex_num(v) for v in a[:8]] + ([r"\ldots"] if a.size > 8 else [])
    return items[0] if a.size == 1 else "[" + ", ".join(items) + "]"


# -- formulas ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Math:
    """A piece of a formula: its text and its TeX."""

    text: str
    tex: str


def number(v: float) -> Math:
    return Math(num(v), tex_num(v))


def word(text: str, tex: str | None = None) -> Math:
    """A literal (``"1"``, ``"onehot(t)"``), the same in both renderings unless ``tex``."""
    return Math(text, text if tex is None else tex)


def symbol(base: str, idx: tuple[int | str, ...] = (), layer: int | None = None) -> Math:
    """A display symbol: a letter, the layer as a superscript, one-based indices (or the
    index letters ``i, j, m``) as subscripts: ``symbol("h", (2,), 1)`` is ``h⁽¹⁾₂``."""
    text = base + (f"({layer})".translate(SUPERSCRIPT) if layer is not None else "")
    tex = base + (f"^{{({layer})}}" if layer is not None else "")
    if idx:
        wide = any(isinstance(i, int) and i > 9 for i in idx)
        sep = "," if wide else ""
        text += sep.join(str(i) for i in idx).translate(SUBSCRIPT)
        tex += "_{" + sep.join(str(i) for i in idx) + "}"
    return Math(text, tex)


def indexed(a: Math, index: str) -> Math:
    """``a`` with an index letter: ``z`` -> ``zₘ``."""
    return Math(a.text + index.translate(SUBSCRIPT), f"{a.tex}_{{{index}}}")


def group(a: Math) -> Math:
    return Math(f"({a.text})", f"({a.tex})")


def neg(a: Math) -> Math:
    return Math(f"−{wrap(a.text)}", f"-{wrap(a.tex)}")


def minus(a: Math, b: Math) -> Math:
    return Math(f"{a.text} − {b.text}", f"{a.tex}-{b.tex}")


def juxt(a: Math, b: Math) -> Math:
    """``a b`` written side by side (``2(y − t)``, ``ty``); with a dot before a number or a
    bracket, where they would run together (``(−1)·0.5``, ``t·[ty < 1]``)."""
    at, bt = wrap(a.text), wrap(b.text)
    if bt[:1].isdigit() or bt[:1] == "[":
        return Math(f"{at}·{bt}", rf"{wrap(a.tex)} \cdot {wrap(b.tex)}")
    space = " " if a.tex[-1:].isalpha() and b.tex[:1].isalpha() else ""
    return Math(at + bt, wrap(a.tex) + space + wrap(b.tex))


def dot(a: Math, b: Math) -> Math:
    """``a · b``."""
    return Math(f"{wrap(a.text)} · {wrap(b.text)}", rf"{wrap(a.tex)} \, {wrap(b.tex)}")


def times(a: Math, b: Math) -> Math:
    """``a·b``, tight (inside a sum)."""
    return Math(f"{wrap(a.text)}·{wrap(b.text)}", f"{wrap(a.tex)} {wrap(b.tex)}")


def product(factors: list[Math], text_sep: str = " · ", tex_sep: str = r" \cdot ") -> Math:
    """The chain rule's product of factors, each parenthesised where it needs it."""
    return Math(text_sep.join(wrap(f.text) for f in factors),
                tex_sep.join(wrap(f.tex) for f in factors))


def square(a: Math) -> Math:
    base = wrap(a.tex)
    if "^" in base:                       # h^{(1)}_{1}: one superscript per base in TeX
        base = "{" + base + "}"
    return Math(f"{wrap(a.text)}²", f"{base}^2")


def call(name: str, a: Math) -> Math:
    return Math(f"{name}({a.text})", rf"\operatorname{{{name}}}({a.tex})")


def indicator(a: Math, relation: str, b: Math) -> Math:
    """``[a < b]``: 1 when it holds, 0 otherwise."""
    return Math(f"[{a.text} {relation} {b.text}]", f"[{a.tex} {relation} {b.tex}]")


def partial(upper: Math, lower: Math) -> Math:
    """``∂upper/∂lower``."""
    return Math(f"∂{upper.text}/∂{lower.text}",
                rf"\frac{{\partial {upper.tex}}}{{\partial {lower.tex}}}")


def hadamard(a: Math, b: Math) -> Math:
    """``a ⊙ b``: element by element."""
    return Math(f"{a.text} ⊙ {wrap(b.text)}", rf"{a.tex} \odot {wrap(b.tex)}")


def sum_over(index: str, body: Math) -> Math:
    return Math(f"Σ{index.translate(SUBSCRIPT)} {body.text}", rf"\sum_{index} {body.tex}")


LOSS = symbol("l")
ONE = word("1")


def loss_gradient(loss: str, y: Math, t: Math) -> Math:
    """∂l/∂y of each loss (lecture part 1), for bce and ce ∂l/∂z from the logits: ``y − t``
    (for ``ce`` the caller passes the one-hot target)."""
    if loss == "squared":
        return juxt(word("2"), group(minus(y, t)))
    if loss == "absolute":
        return call("sign", minus(y, t))
    if loss == "hinge":
        return neg(juxt(t, indicator(juxt(t, y), "<", ONE)))
    return minus(y, t)


def activation_gradient(name: str, h: Math, k: Math) -> Math:
    """∂h/∂k of an element-wise activation, written from its output h as the lecture does
    (σ' = h(1 − h)), from k for relu."""
    if name == "sigmoid":
        return juxt(h, group(minus(ONE, h)))
    if name == "tanh":
        return minus(ONE, square(h))
    if name == "relu":
        return indicator(k, ">", word("0"))
    return ONE


#: the largest value of ∂h/∂k, for telling a saturated unit
ACTIVATION_PEAK = {"sigmoid": 0.25, "tanh": 1.0}


def softmax_gradient(y_j: Math, y_m: Math, same: bool) -> Math:
    """∂y_j/∂z_m of a softmax: ``y_j(1 − y_j)`` for j = m, ``−y_j y_m`` otherwise."""
    return juxt(y_j, group(minus(ONE, y_j))) if same else neg(juxt(y_j, y_m))


def softmax_backward() -> Math:
    """∂l/∂z_m through a softmax: every output depends on every logit."""
    y_j, y_m = symbol("y", ("j",)), symbol("y", ("m",))
    delta = Math("δⱼₘ", r"\delta_{jm}")
    return sum_over("j", dot(partial(LOSS, y_j), juxt(y_j, group(minus(delta, y_m)))))


# -- the symbols of a network's nodes ----------------------------------------------------------


def param_math(net: MLP, kind: str, l: int, j: int, i: int | None) -> Math:
    """The display symbol of ``W{l}[j,i]`` (``b{l}[j]`` when ``kind`` is ``"b"``)."""
    one = net.sizes[-1] == 1
    if net.num_layers == 2:                             # the lecture's w, b, v, c
        if l == 0:
            return symbol("w", (i + 1, j + 1)) if kind == "W" else symbol("b", (j + 1,))
        if kind == "W":
            return symbol("v", (i + 1,) if one else (i + 1, j + 1))
        return symbol("c") if one else symbol("c", (j + 1,))
    if kind == "W":
        return symbol("W", (j + 1, i + 1), l + 1)
    return symbol("b", (j + 1,), l + 1)


def node_math(net: MLP, node: str) -> Math:
    """The display symbol of a node identifier (see :mod:`scalarprop.explain.names`)."""
    if node == "loss":
        return LOSS
    if node[0] in "Wb":                                 # a parameter
        return param_math(net, *net.param_position(net.param_index(node)))
    letter, l, j = parse_unit(node)
    one = net.sizes[-1] == 1 or (letter == "t" and net.loss == "ce")
    if letter == "t":
        return symbol("t") if one else symbol("t", (j + 1,))
    if l == net.num_layers:                 # the output y, and its logit z (y itself if y = z)
        name = "y" if letter == "h" or net.output == "identity" else "z"
        return symbol(name) if one else symbol(name, (j + 1,))
    return symbol(letter, (j + 1,), l if letter in "kh" and net.num_layers != 2 else None)


def node_symbol(net: MLP, node: str) -> str:
    """The display symbol of a node identifier in ``net``, as text: ``"h1[1]"`` -> ``"h₂"``,
    ``"W1[0,1]"`` -> ``"v₂"`` with one hidden layer, ``"h2[0]"`` -> ``"h⁽²⁾₁"`` in deeper
    networks, the output ``"h{L}[m]"`` -> ``"y"``, ``"k{L}[m]"`` -> ``"z"`` (``"y"`` if
    ``y = z``), ``"t[0]"`` -> ``"t"``, ``"loss"`` -> ``"l"``."""
    return node_math(net, node).text


def layer_math(net: MLP, letter: str, l: int) -> Math:
    """The symbol of layer l's vector of pre-activations (``"k"``) or activations (``"h"``)."""
    if l == 0:
        return symbol("x")
    if l == net.num_layers:
        return symbol("y" if (letter == "h" or net.output == "identity") else "z")
    return symbol(letter, (), None if net.num_layers == 2 else l)
