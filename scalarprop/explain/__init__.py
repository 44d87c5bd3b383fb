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

Naming a weight
    * a parameter name of the network, ``"W0[1,0]"``, ``"b1[0]"`` (zero-based, see
      :meth:`MLP.param_index`), or its flat index;
    * for a network with one hidden layer, the lecture's notation (one-based)::

          w_ij  "w12"  input i to hidden j        = W0[j-1, i-1]   ("w12" = W0[1,0])
          b_j   "b2"   bias of hidden j           = b0[j-1]
          v_j   "v2"   hidden j to the output     = W1[0, j-1]     (one output)
          v_jm  "v21"  hidden j to output m       = W1[m-1, j-1]   (several outputs)
          c     "c"    the output's bias          = b1[0]          (one output)
          c_m   "c1"   output m's bias            = b1[m-1]        (several outputs)

      With several outputs ``"v2"`` and ``"c"`` are refused (name the output). Indices above 9
      need a comma (``"w1,12"``); ``"w_{1,2}"`` and ``"w1,2"`` are accepted everywhere.

Node identifiers (``Path.nodes``, ``Factor.nodes``, :meth:`Explanation.edges`), the one
scheme that :func:`scalarprop.draw`, the engines' ``nodes(net, X, T)`` and the explorer page
share: a unit's identifier is the engine's key for its layer with the unit's zero-based index,
so ``nodes(net, X, T)["h1"][n, 2]`` is the value of node ``"h1[2]"``:

* ``"x[i]"`` an input;
* ``"k{l}[j]"`` and ``"h{l}[j]"`` the pre-activation and activation of unit ``j`` of layer
  ``l = 1..L``; the last layer's ``"h{L}[m]"`` is the output ``y_m`` and ``"k{L}[m]"`` its
  logit ``z_m``;
* ``"t[m]"`` a target (``"t[0]"`` the class index for ``ce``), ``"loss"`` the loss;
* a parameter by its name (``"W0[1,0]"``, ``"b1[0]"``).

A path runs from the weight up to the loss::

    ("W0[1,0]", "k1[1]", "h1[1]", "k2[0]", "h2[0]", "loss")

For ``bce`` and ``ce`` the loss is computed from the logits, as the engines compute it, so
those paths end ``…, "k{L}[m]", "loss"`` with ``∂l/∂z_m = y_m − t_m``. With an identity
output ``y = z``: the two nodes stay in the path, and one factor (``∂y/∂h₂ = v₂``, no ``· 1``)
spans both. A softmax output is not element-wise: ``y_j`` depends on every logit, so each logit
has a path through every output, ``∂y_j/∂z_m = y_j(δ_jm − y_m)``.

Display notation: one-based units as on the slides. With one hidden layer: ``x_i, w_ij, b_j,
k_j, h_j, v_j, c, z, y, t`` (``z`` only when the output activation is not the identity). Other
depths: ``x_i``, layer ``l``'s ``k⁽ˡ⁾_j, h⁽ˡ⁾_j``, its weights ``W⁽ˡ⁾_ji`` (matrix order: to
unit ``j`` from unit ``i`` below, the parameter ``W{l-1}[j-1,i-1]``) and biases ``b⁽ˡ⁾_j``;
the output's ``z_m, y_m``. ``[P]`` is 1 when ``P`` holds and 0 otherwise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import functions as F
from ..checks.gradcheck import at_kink, difference_quotients
from ..engines import get_engine, scalar, vectorized
from ..network import MLP
from ..validate import check_T, check_X

#: the number of paths up to which every path is listed
MAX_PATHS = 64
#: a sigmoid (tanh) derivative below this share of its maximum counts as saturated
SATURATED = 0.2

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
_NODE = re.compile(r"([kh])(\d+)\[(\d+)\]|(x)\[(\d+)\]|([Wb])(\d+)\[(\d+)(?:,(\d+))?\]|loss")


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One local derivative ``∂upper/∂lower`` on a path (or, as the top of a chain shared by
    several paths, the accumulated global derivative of the node where they split).

    ``nodes`` are the node identifiers it spans, lower first (two, or three where an identity
    output fuses ``z`` and ``y``); ``formula`` is its symbolic form, ``numbers`` the formula
    with the forward pass's values, ``value`` the number. ``kind`` is one of ``loss``,
    ``output`` (the output activation), ``activation``, ``weight`` (``∂k/∂h``: a weight),
    ``input`` (``∂k/∂W``: the value the weight multiplies), ``bias`` and ``accumulated``.
    """

    symbol: str
    formula: str
    numbers: str
    value: float
    nodes: tuple[str, ...]
    kind: str
    note: str = ""
    latex_symbol: str = ""
    latex_formula: str = ""

    @property
    def sign(self) -> int:
        """+1, -1 or 0."""
        return int(np.sign(self.value))


@dataclass(frozen=True)
class Path:
    """One path from the weight to the loss: ``nodes`` weight first, ``factors`` in the order
    the chain is written (the loss first), ``value`` their product."""

    nodes: tuple[str, ...]
    factors: tuple[Factor, ...]
    value: float
    symbols: tuple[str, ...] = ()

    @property
    def sign(self) -> int:
        return int(np.sign(self.value))

    def __str__(self) -> str:
        chain = " · ".join(_wrap(f.formula) for f in self.factors)
        nums = " · ".join(_paren(f.value) for f in self.factors)
        return f"{' → '.join(self.symbols)}:  {chain} = {nums} = {_num(self.value)}"


@dataclass(frozen=True)
class Step:
    """One line of the accumulated form: the global derivative of a layer's nodes (or of one
    node), as backpropagation computes it from the layer above."""

    symbol: str
    formula: str
    values: np.ndarray
    nodes: tuple[str, ...]
    latex_symbol: str = ""
    latex_formula: str = ""
    terms: str = ""           # the one unit on the weight's chain, its sum written out


def _plain(v: Any) -> Any:
    """Numbers as JSON takes them: floats and lists of floats, None for NaN and infinities."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_plain(x) for x in v]
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _factor_dict(f: Factor) -> dict[str, Any]:
    return {"symbol": f.symbol, "formula": f.formula, "latex_symbol": f.latex_symbol,
            "latex_formula": f.latex_formula, "numbers": f.numbers, "value": _plain(f.value),
            "sign": f.sign, "kind": f.kind, "nodes": list(f.nodes), "note": f.note}


@dataclass
class Explanation:
    """What :func:`explain` found; ``str()`` is the derivation, ``_repr_markdown_`` renders it
    in a notebook. Every number is also an attribute.

    Attributes:
        weight: the parameter's name (``"W0[1,0]"``); ``index`` its flat index; ``value`` its
            current value; ``symbol`` its display symbol (``"w₁₂"``); ``lecture_name`` its
            name in the lecture's notation (``"w12"``) when the network has one hidden layer.
        factors: the chain whose product is the gradient, loss end first. For a single path
            these are the path's local derivatives; for several paths the first factor is the
            accumulated ``∂l/∂node`` of the node where the paths split (``branch``).
        paths: every path (each a :class:`Path`) while ``num_paths <= max_paths``, else empty.
        path_sum: the sum of the paths' products (the multivariate chain rule), or None.
        accumulated: the accumulated form, top (the loss) down, as :class:`Step` s.
        node_grads: ``∂l/∂node`` for every unit's node identifier, from the scalar engine's
            backward pass (no output ``h{L}[m]`` for bce and ce, whose loss reads the logits).
        node_values: the value of every node identifier in the forward pass (the inputs, every
            unit, the targets ``t[m]`` and ``loss``).
        gradient: ∂l/∂weight from this derivation (the path sum, else the accumulated form).
        engines: the gradient of each engine (``"scalar"``, ``"vectorized"``).
        finite_difference: the central difference quotient with step ``eps``;
            ``one_sided``: the backward and forward quotients; ``at_kink``: whether they
            disagree as a kink in ``[w − eps, w + eps]`` makes them.
        update_direction: which way ``w ← w − α·∂l/∂w`` moves the weight: +1, -1 or 0.
        reading: the gradient-descent reading, one sentence per line; ``context``: what the
            loss wants of each output, when the chain starts at an accumulated factor.
        x, t, forward, loss: the example, every layer's ``k{l}``/``h{l}`` and ``y`` from the
            scalar engine's forward pass, and the loss.
        symbols: the display symbol of the weight and of every unit's node identifier.
    """

    weight: str
    index: int
    value: float
    symbol: str
    latex: str
    lecture_name: str | None
    network: str
    x: np.ndarray
    t: np.ndarray
    forward: dict[str, np.ndarray]
    loss: float
    factors: tuple[Factor, ...]
    branch: str | None
    paths: tuple[Path, ...]
    num_paths: int
    max_paths: int
    path_sum: float | None
    accumulated: tuple[Step, ...]
    node_grads: dict[str, float]
    node_values: dict[str, float]
    gradient: float
    engines: dict[str, float]
    finite_difference: float
    one_sided: tuple[float, float]
    eps: float
    at_kink: bool
    update_direction: int
    reading: tuple[str, ...]
    context: tuple[str, ...] = ()
    symbols: dict[str, str] = field(default_factory=dict, repr=False)
    _edges: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        paths = f"{self.num_paths} path{'s' if self.num_paths != 1 else ''}"
        return (f"Explanation(∂l/∂{self.symbol} = {_num(self.gradient)}, {self.weight}, "
                f"{paths}, scalar {_num(self.engines['scalar'])}, finite difference "
                f"{_num(self.finite_difference)})")

    # -- for programs ---------------------------------------------------------------------------

    @property
    def y(self) -> np.ndarray:
        """The network's output for the example."""
        return self.forward["y"]

    @property
    def path_nodes(self) -> list[tuple[str, ...]]:
        """Every listed path as its node identifiers, weight first (see the module doc)."""
        return [p.nodes for p in self.paths]

    def edges(self) -> set[tuple[str, str]]:
        """Every ``(lower, upper)`` pair of node identifiers on some path from the weight to
        the loss, also when there are too many paths to list (a drawing highlights these)."""
        if callable(self._edges):
            self._edges = frozenset(self._edges())
        return set(self._edges)

    @property
    def product(self) -> float:
        """The product of ``factors``: the gradient, written as one chain."""
        return float(math.prod(f.value for f in self.factors))

    def agrees(self, tol: float = 1e-10) -> bool:
        """Whether this derivation and both engines agree within ``tol`` (relative to the
        gradient's size, at least 1)."""
        scale = max(1.0, abs(self.gradient))
        return all(abs(v - self.gradient) <= tol * scale for v in self.engines.values())

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain dicts, lists, floats and strings, for ``json.dumps`` and for a
        page that shows the derivation: the parameter, its chain of local derivatives (each
        factor's symbol and formula as text and TeX, its numbers and value, the node
        identifiers it spans), every path with its product and their sum (or, beyond
        ``max_paths``, the accumulated form), the engines' and the finite difference's values,
        the gradient-descent reading, the node identifiers and edges on the paths (to
        highlight), every node's value, ``∂l/∂node`` and display symbol, and the derivation
        as ``str()`` prints it (``"text"``) and as :meth:`to_markdown` writes it
        (``"markdown"``). A number that is not finite becomes None (JSON has no NaN)."""
        edges = sorted(self.edges())
        return {
            "weight": self.weight, "index": self.index, "value": _plain(self.value),
            "symbol": self.symbol, "latex": self.latex, "lecture_name": self.lecture_name,
            "network": self.network,
            "x": _plain(self.x), "t": _plain(self.t), "y": _plain(self.y),
            "loss": _plain(self.loss),
            "chain": {"symbol": f"∂l/∂{self.symbol}",
                      "latex": rf"\frac{{\partial l}}{{\partial {self.latex}}}",
                      "product": _plain(self.product)},
            "factors": [_factor_dict(f) for f in self.factors], "branch": self.branch,
            "num_paths": self.num_paths, "max_paths": self.max_paths,
            "paths": [{"nodes": list(p.nodes), "symbols": list(p.symbols),
                       "factors": [_factor_dict(f) for f in p.factors],
                       "value": _plain(p.value)} for p in self.paths],
            "path_sum": _plain(self.path_sum),
            "accumulated": [{"symbol": s.symbol, "formula": s.formula,
                             "latex_symbol": s.latex_symbol, "latex_formula": s.latex_formula,
                             "nodes": list(s.nodes), "values": _plain(s.values),
                             "terms": s.terms} for s in self.accumulated],
            "gradient": _plain(self.gradient), "engines": _plain(self.engines),
            "finite_difference": _plain(self.finite_difference), "eps": self.eps,
            "one_sided": _plain(list(self.one_sided)), "at_kink": self.at_kink,
            "update_direction": self.update_direction, "reading": list(self.reading),
            "context": list(self.context),
            "nodes": sorted({n for edge in edges for n in edge}),
            "edges": [list(e) for e in edges],
            "node_values": _plain(self.node_values), "node_grads": _plain(self.node_grads),
            "symbols": dict(self.symbols),
            "text": str(self), "markdown": self.to_markdown(),
        }

    # -- for people -----------------------------------------------------------------------------

    def _head(self) -> str:
        return f"∂l/∂{self.symbol}"

    def __str__(self) -> str:
        w = self.symbol
        alias = f", lecture name {self.lecture_name}" if self.lecture_name else ""
        out = [f"∂l/∂{w} for one example ({w} = parameter {self.weight}{alias}; value "
               f"{_num(self.value)})",
               f"  {self.network}",
               f"  x = {_vec(self.x)}, t = {_vec(self.t)}  →  y = {_vec(self.y)}, "
               f"loss = {_num(self.loss)}", ""]
        pad = " " * len(self._head())
        single = self.branch is None
        title = ("chain rule (one path from the weight to the loss)" if single else
                 f"chain rule ({self.num_paths} paths; they split at {self._sym(self.branch)})")
        out += [title,
                f"  {self._head()} = " + " · ".join(f.symbol for f in self.factors),
                f"  {pad} = " + " · ".join(_wrap(f.formula) for f in self.factors),
                f"  {pad} = " + " · ".join(_wrap(f.numbers) for f in self.factors),
                f"  {pad} = " + " · ".join(_paren(f.value) for f in self.factors),
                f"  {pad} = {_num(self.product)}", ""]
        rows = [(f.symbol, f.formula, _num(f.value), "+−0"[[1, -1, 0].index(f.sign)], f.note)
                for f in self.factors]
        out += _table(("local derivative", "formula", "value", "sign", ""), rows)
        if self.paths and not single:
            out += ["", f"every path (multivariate chain rule: the sum over paths of the "
                        f"product of local derivatives), {self.num_paths} paths"]
            for i, p in enumerate(self.paths, 1):
                out.append(f"  {i:>2}. {p}")
            out.append(f"  sum = {_num(self.path_sum)}")
        if not single:
            why = ("" if self.paths else
                   f" ({self.num_paths} paths: more than {self.max_paths}, not listed)")
            out += ["", f"accumulated form (what backpropagation computes){why}"]
            for s in self.accumulated:
                out.append(f"  {s.symbol} = {s.formula} = {_vec(s.values)}")
                if s.terms:
                    out.append(f"      {s.terms}")
        out += ["", "check"]
        rows = [("this derivation", _num(self.gradient, 12), "")]
        for name, v in self.engines.items():
            rows.append((f"{name} engine", _num(v, 12),
                         f"difference {_num(abs(v - self.gradient), 2)}"))
        fd_note = f"difference {_num(abs(self.finite_difference - self.gradient), 2)}"
        if self.at_kink:
            fd_note += (f"; a kink within ±eps: one-sided {_num(self.one_sided[0], 6)} | "
                        f"{_num(self.one_sided[1], 6)}")
        rows.append((f"central difference, eps {self.eps:g}", _num(self.finite_difference, 12),
                     fd_note))
        out += _table(None, rows)
        out += ["", "gradient descent (slides 47-53)"]
        out += [f"  {line}" for line in self.context]
        out += [f"  - {line}" for line in self.reading]
        return "\n".join(out)

    def _sym(self, node: str | None) -> str:
        return self.symbols.get(str(node), str(node))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_markdown(self) -> str:
        """The derivation in Markdown with LaTeX (what a notebook shows)."""
        w = self.latex
        eq = [rf"\frac{{\partial l}}{{\partial {w}}}",
              r" \, ".join(f.latex_symbol for f in self.factors),
              r" \cdot ".join(_wrap(f.latex_formula) for f in self.factors),
              r" \cdot ".join(_tex_num(f.value, paren=True) for f in self.factors),
              _tex_num(self.product)]
        alias = f" (`{self.lecture_name}`)" if self.lecture_name else ""
        md = [f"**$\\partial l/\\partial {w}$** for one example: ${w}$ is `{self.weight}`"
              f"{alias} $= {_tex_num(self.value)}$; {self.network}; "
              f"$x = {_tex_vec(self.x)}$, $t = {_tex_vec(self.t)}$, "
              f"$y = {_tex_vec(self.y)}$, loss $= {_tex_num(self.loss)}$", "",
              "$$" + " = ".join(eq) + "$$", "",
              "| local derivative | formula | value | sign | |", "|---|---|---|---|---|"]
        for f in self.factors:
            md.append(f"| ${f.latex_symbol}$ | ${f.latex_formula}$ | {_num(f.value)} | "
                      f"{'+−0'[[1, -1, 0].index(f.sign)]} | {f.note} |")
        if self.paths and self.branch is not None:
            md += ["", f"**{self.num_paths} paths** (multivariate chain rule), "
                       f"sum $= {_tex_num(self.path_sum)}$:", "",
                   "| path | product | value |", "|---|---|---|"]
            dot = r" \cdot "
            for p in self.paths:
                product = dot.join(_wrap(f.latex_formula) for f in p.factors)
                md.append(f"| {' → '.join(p.symbols)} | ${product}$ | {_num(p.value)} |")
        if self.branch is not None:
            md += ["", "**accumulated form** (backpropagation):", ""]
            for s in self.accumulated:
                md.append(f"- ${s.latex_symbol} = {s.latex_formula} = {_tex_vec(s.values)}$")
        md += ["", "| check | ∂l/∂w |", "|---|---|",
               f"| this derivation | {_num(self.gradient, 12)} |"]
        md += [f"| {name} engine | {_num(v, 12)} |" for name, v in self.engines.items()]
        md += [f"| central difference (eps {self.eps:g}) | {_num(self.finite_difference, 12)}"
               f"{' (kink)' if self.at_kink else ''} |", "", "**gradient descent:**", ""]
        md += [f"{line}  " for line in self.context]
        md += [f"- {line}" for line in self.reading]
        return "\n".join(md)


# -- the entry point ---------------------------------------------------------------------------


def explain(net: MLP, x: Any, t: Any, weight: str | int, *, eps: float = 1e-6,
            max_paths: int = MAX_PATHS) -> Explanation:
    """Derive ``∂l/∂weight`` for one example ``(x, t)`` as the lecture does (slides 41-53).

    Args:
        net: the network (its parameters are read, and restored after the finite difference).
        x: one example, shape ``(sizes[0],)`` or ``(1, sizes[0])``.
        t: its target, as the loss expects (a class index for ``ce``).
        weight: a parameter name (``"W0[1,0]"``, ``"b1[0]"``), a flat index, or for a
            network with one hidden layer the lecture's ``"w12"``, ``"b2"``, ``"v2"``,
            ``"c"`` (see the module docstring for the mapping).
        eps: the step of the central finite difference.
        max_paths: list every path while there are at most this many.

    Raises:
        ValueError: an unknown or out-of-range weight (the message lists the valid names), an
            example of the wrong shape or more than one example, a bad target.
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
    return derive(net, X, T, index, eps=float(eps), max_paths=int(max_paths))


def derive(net: MLP, X: np.ndarray, T: np.ndarray, index: int, *, eps: float = 1e-6,
           max_paths: int = MAX_PATHS, nodes: dict[str, Any] | None = None) -> Explanation:
    """:func:`explain` on arguments already checked: ``X`` of shape ``(1, sizes[0])`` and ``T``
    as :func:`~scalarprop.validate.check_X` and ``check_T`` return them, ``index`` a flat
    parameter index. ``nodes``: the scalar engine's ``scalar.nodes(net, X, T)`` when the caller
    has it already (:func:`scalarprop.draw.draw` does), so the engine does not run again."""
    return _Derivation(net, X, T, index, eps, max_paths, nodes).result()


# -- weight names ------------------------------------------------------------------------------

_LECTURE = re.compile(r"\s*([wvbc])_?\{?\s*(\d*)\s*(?:,\s*(\d+))?\s*\}?\s*")


def parse_weight(net: MLP, weight: str | int) -> int:
    """The flat index of a weight named as :func:`explain` accepts it: a parameter name
    (``"W0[1,0]"``), a flat index, or the lecture's ``"w12"``, ``"b2"``, ``"v2"``, ``"c"``
    for a network with one hidden layer. A ValueError that lists the valid names otherwise."""
    if isinstance(weight, (int, np.integer)) and not isinstance(weight, bool):
        if not 0 <= weight < net.num_params:
            raise ValueError(f"weight={weight!r}: flat index out of range [0, "
                             f"{net.num_params}); {valid_names(net)}")
        index = int(weight)
    elif not isinstance(weight, str):
        raise ValueError(f"weight={weight!r}: expected a parameter name such as 'W0[1,0]'; "
                         f"{valid_names(net)}")
    elif "[" in weight:
        try:
            index = net.param_index(weight)
        except ValueError as exc:
            raise ValueError(f"weight={weight!r}: {exc}; {valid_names(net)}") from None
    else:
        index = _lecture_index(net, weight)
    return index


def valid_names(net: MLP) -> str:
    """The names ``explain`` accepts for this network, summarised range by range."""
    parts = []
    for l in range(net.num_layers):
        n_out, n_in = net.sizes[l + 1], net.sizes[l]
        parts.append(f"W{l}[0,0] … W{l}[{n_out - 1},{n_in - 1}]" if n_out * n_in > 1
                     else f"W{l}[0,0]")
        parts.append(f"b{l}[0] … b{l}[{n_out - 1}]" if n_out > 1 else f"b{l}[0]")
    text = "valid names: " + ", ".join(parts) + f" (or a flat index 0..{net.num_params - 1})"
    if net.num_layers == 2:
        d, H, K = net.sizes
        lec = [f"w{_lec_idx(1, 1)} … w{_lec_idx(d, H)} (input i to hidden j)",
               f"b1 … b{H}" if H > 1 else "b1"]
        if K == 1:
            lec += [f"v1 … v{H}" if H > 1 else "v1", "c"]
        else:
            lec += [f"v{_lec_idx(1, 1)} … v{_lec_idx(H, K)} (hidden j to output m)",
                    f"c1 … c{K}"]
        text += "; lecture notation, one-based: " + ", ".join(lec)
    return text


def _lec_idx(*idx: int) -> str:
    return ("," if max(idx) > 9 else "").join(str(i) for i in idx)


def lecture_name_of(net: MLP, weight: int | str) -> str | None:
    """The lecture's name (``"w12"``) of a parameter of a network with one hidden layer, by
    flat index or by name (``"W0[1,0]"``); None for other depths."""
    if net.num_layers != 2:
        return None
    one = net.sizes[2] == 1
    kind, l, j, i = net.param_position(net.param_index(weight) if isinstance(weight, str)
                                       else weight)
    if l == 0:
        return "w" + _lec_idx(i + 1, j + 1) if kind == "W" else f"b{j + 1}"
    if kind == "W":
        return f"v{i + 1}" if one else "v" + _lec_idx(i + 1, j + 1)
    return "c" if one else f"c{j + 1}"


def _flat(net: MLP, l: int, j: int, i: int | None = None) -> int:
    """The flat index of ``W{l}[j,i]``, or of ``b{l}[j]`` when ``i`` is None (in range)."""
    w, b = net.layer_slices(l)
    return b.start + j if i is None else w.start + j * net.sizes[l] + i


def _split(text: str, second: str | None, limits: tuple[int, int]) -> list[tuple[int, int]]:
    """The readings of ``"12"`` (or ``"1", "2"``) as two one-based indices within limits."""
    if second is not None:
        cands = [(int(text), int(second))] if text else []
    else:
        cands = [(int(text[:s]), int(text[s:])) for s in range(1, len(text))
                 if text[s] != "0"]
    return [(a, b) for a, b in cands if 1 <= a <= limits[0] and 1 <= b <= limits[1]]


def _lecture_index(net: MLP, name: str) -> int:
    m = _LECTURE.fullmatch(name)
    if m is None:
        raise ValueError(f"weight={name!r}: not a parameter name; {valid_names(net)}")
    if net.num_layers != 2:
        raise ValueError(f"weight={name!r}: the lecture's names (w12, b2, v2, c) are for a "
                         f"network with one hidden layer, this one has sizes {net.sizes}; "
                         f"{valid_names(net)}")
    d, H, K = net.sizes
    letter, a, b = m.group(1), m.group(2), m.group(3)

    def bad(why: str) -> ValueError:
        return ValueError(f"weight={name!r}: {why}; {valid_names(net)}")

    def pair(limits: tuple[int, int], what: str) -> tuple[int, int]:
        if not a:
            raise bad(f"{letter} needs two indices ({what})")
        found = _split(a, b, limits)
        if not found:
            raise bad(f"out of range: {what}, with {limits[0]} and {limits[1]} units")
        if len(found) > 1:
            raise bad("ambiguous, write it with a comma: "
                      + " or ".join(f"{letter}{i},{j}" for i, j in found))
        return found[0]

    def single(limit: int, what: str) -> int:
        if not a or b is not None:
            raise bad(f"{letter} takes one index ({what})")
        i = int(a)
        if not 1 <= i <= limit:
            raise bad(f"out of range: {what} runs 1..{limit}")
        return i

    if letter == "w":
        i, j = pair((d, H), f"input i = 1..{d} to hidden j = 1..{H}")
        return _flat(net, 0, j - 1, i - 1)
    if letter == "b":
        return _flat(net, 0, single(H, f"hidden j = 1..{H}") - 1)
    if letter == "v":
        if K == 1:
            if b is not None:                    # "v2,1": hidden 2 to output 1 of 1
                if int(b) != 1:
                    raise bad("this network has one output: v_j or v_j,1")
                b = None
            return _flat(net, 1, 0, single(H, f"hidden j = 1..{H}") - 1)
        if a and b is None and len(a) == 1:
            raise bad(f"this network has {K} outputs: name the output too, v{a}1 = hidden "
                      f"{a} to output 1")
        j, mm = pair((H, K), f"hidden j = 1..{H} to output m = 1..{K}")
        return _flat(net, 1, mm - 1, j - 1)
    # c
    if K == 1:
        if a and not (a == "1" and b is None):
            raise bad("this network has one output: its bias is c")
        return _flat(net, 1, 0)
    if not a:
        raise bad(f"this network has {K} outputs: name the output, c1 … c{K}")
    return _flat(net, 1, single(K, f"output m = 1..{K}") - 1)


# -- formatting ------------------------------------------------------------------------------


def _num(v: float | None, digits: int = 6) -> str:
    """A number as the derivation prints it (with a real minus sign)."""
    if v is None:
        return "—"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}".replace("-", "−")


def _paren(v: float) -> str:
    s = _num(v)
    return f"({s})" if v < 0 else s


def _wrap(s: str) -> str:
    """Parenthesise a term of a product if it is a sum or starts with a minus sign:
    ``1 − h²`` -> ``(1 − h²)``, ``−2`` -> ``(−2)``, ``2(y − t)`` stays."""
    depth = 0
    for i, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in "−-+" and not (i > 0 and s[i - 1] in "e^_"):
            return f"({s})"
    return s


def _vec(a: Any) -> str:
    a = np.atleast_1d(np.asarray(a, dtype=float))
    items = [_num(v) for v in a[:8]]
    if a.size > 8:
        items.append(f"… ({a.size} values)")
    return "[" + ", ".join(items) + "]" if a.size > 1 else items[0]


def _tex_num(v: float | None, paren: bool = False) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    s = f"{v:.6g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = rf"{mant} \times 10^{{{int(exp)}}}"
    return f"({s})" if (paren and v < 0) else s


def _tex_vec(a: Any) -> str:
    a = np.atleast_1d(np.asarray(a, dtype=float))
    items = [_tex_num(v) for v in a[:8]] + ([r"\ldots"] if a.size > 8 else [])
    return items[0] if a.size == 1 else r"[" + ", ".join(items) + r"]"


def _table(header: tuple[str, ...] | None, rows: list[tuple[str, ...]]) -> list[str]:
    allrows = ([header] if header else []) + rows
    widths = [max(len(r[c]) for r in allrows) for c in range(len(allrows[0]))]
    return ["  " + "  ".join(cell.ljust(wd) for cell, wd in zip(r, widths)).rstrip()
            for r in allrows]


@dataclass(frozen=True)
class _Sym:
    """A display symbol: a letter, an optional layer superscript, one-based subscripts."""

    base: str
    idx: tuple[int, ...] = ()
    layer: int | None = None

    @property
    def text(self) -> str:
        sup = f"({self.layer})".translate(_SUP) if self.layer is not None else ""
        sep = "," if self.idx and max(self.idx) > 9 else ""
        return self.base + sup + sep.join(str(i) for i in self.idx).translate(_SUB)

    @property
    def tex(self) -> str:
        sup = f"^{{({self.layer})}}" if self.layer is not None else ""
        sub = "_{" + ",".join(str(i) for i in self.idx) + "}" if self.idx else ""
        if self.idx and max(self.idx) <= 9:
            sub = "_{" + "".join(str(i) for i in self.idx) + "}"
        return self.base + sup + sub


def node_symbol(net: MLP, node: str) -> str:
    """The display symbol of a node identifier (see the module doc) in ``net``:
    ``"h1[1]"`` -> ``"h₂"``, ``"W1[0,1]"`` -> ``"v₂"`` with one hidden layer, ``"h2[0]"`` ->
    ``"h⁽²⁾₁"`` in deeper networks, ``"k{L}[m]"`` -> ``"z"`` (``"y"`` if ``y = z``)."""
    return _node_sym(net, node).text


def _node_sym(net: MLP, node: str) -> _Sym:
    if node == "loss":
        return _Sym("l")
    if node[0] in "Wb":                                 # a parameter
        m = _NODE.fullmatch(node)
        assert m is not None and m.group(6), node
        return _param_sym(net, m.group(6), int(m.group(7)), int(m.group(8)),
                          None if m.group(9) is None else int(m.group(9)))
    letter, l, j = _unit(node)
    one = net.sizes[-1] == 1
    if l == net.num_layers:                 # the output y, and its logit z (y itself if y = z)
        name = "y" if letter == "h" or net.output == "identity" else "z"
        return _Sym(name) if one else _Sym(name, (j + 1,))
    return _Sym(letter, (j + 1,), l if letter in "kh" and net.num_layers != 2 else None)


def _param_sym(net: MLP, kind: str, l: int, j: int, i: int | None) -> _Sym:
    """The display symbol of ``W{l}[j,i]`` (``b{l}[j]`` when ``i`` is None)."""
    one = net.sizes[-1] == 1
    if net.num_layers == 2:                             # the lecture's w, b, v, c
        if l == 0:
            return _Sym("w", (i + 1, j + 1)) if kind == "W" else _Sym("b", (j + 1,))
        if kind == "W":
            return _Sym("v", (i + 1,) if one else (i + 1, j + 1))
        return _Sym("c") if one else _Sym("c", (j + 1,))
    if kind == "W":
        return _Sym("W", (j + 1, i + 1), l + 1)
    return _Sym("b", (j + 1,), l + 1)


def _unit(node: str) -> tuple[str, int, int]:
    """A unit's node identifier as ``(letter, layer, index)``: ``"h1[2]"`` -> ``("h", 1, 2)``,
    ``"x[0]"`` -> ``("x", 0, 0)``."""
    m = _NODE.fullmatch(node)
    assert m is not None and (m.group(1) or m.group(4)), node
    if m.group(1):
        return m.group(1), int(m.group(2)), int(m.group(3))
    return "x", 0, int(m.group(5))


#: the top of the backward pass as the accumulated form writes it (text, TeX): ∂l/∂y by loss
#: (∂l/∂z for bce and ce, from the logits), then ∂l/∂z from ∂l/∂y by output activation
_LOSS_GRAD = {
    "squared": ("2(y − t)", "2(y - t)"),
    "absolute": ("sign(y − t)", r"\operatorname{sign}(y - t)"),
    "hinge": ("−t·[ty < 1]", r"-t\,[t y < 1]"),
    "bce": ("y − t", "y - t"),
    "ce": ("y − onehot(t)", r"y - \mathrm{onehot}(t)"),
}
_OUTPUT_GRAD = {
    "softmax": ("Σⱼ ∂l/∂yⱼ · yⱼ(δⱼₘ − yₘ)",
                r"\sum_j \frac{\partial l}{\partial y_j} y_j(\delta_{jm} - y_m)"),
    "sigmoid": ("∂l/∂y ⊙ y(1 − y)", r"\frac{\partial l}{\partial y} \odot y(1-y)"),
}

#: ∂h/∂k of each element-wise activation as the lecture writes it, from the stored h (from k
#: for relu): its formula as text and as TeX, given the symbols (or numbers) of h and k, and
#: the derivative's largest value, below ``SATURATED`` times which a unit counts as saturated.
#: The value itself is the scalar engine's :func:`scalarprop.functions.activate_grad`.
_ACTIVATIONS: dict[str, tuple[Any, Any, float | None]] = {
    "sigmoid": (lambda h, k: f"{h}(1 − {h})", lambda h, k: f"{h}(1-{h})", 0.25),
    "tanh": (lambda h, k: f"1 − {h}²", lambda h, k: f"1-{h}^2", 1.0),
    "relu": (lambda h, k: f"[{k} > 0]", lambda h, k: f"[{k} > 0]", None),
    "identity": (lambda h, k: "1", lambda h, k: "1", None),
}


# -- the derivation --------------------------------------------------------------------------


@dataclass
class _Edge:
    nodes: tuple[str, ...]       # lower first
    factor: Factor


class _Derivation:
    """The network's computation graph for one example: nodes, local derivatives, paths."""

    def __init__(self, net: MLP, X: np.ndarray, T: np.ndarray, index: int, eps: float,
                 max_paths: int, nodes: dict[str, Any] | None = None) -> None:
        self.net, self.X, self.T = net, X, T
        self.x, self.t = X[0], T[0]
        self.index, self.lecture_name = index, lecture_name_of(net, index)
        self.eps, self.max_paths = eps, max_paths
        self.L = net.num_layers
        self.K = net.sizes[-1]
        self.weight = net.param_name(index)
        self.position = net.param_position(index)       # (kind, layer, j, i)
        self.lecture = self.L == 2
        self.fused = net.output == "identity"           # y = z: one node in the display
        self.logits = net.loss in ("bce", "ce")          # the loss reads z, not y
        # one forward and backward pass: every node's value and ∂l/∂node, ∂l/∂θ
        self.fw = fw = scalar.nodes(net, X, T) if nodes is None else nodes
        self.k = {l: fw[f"k{l}"][0] for l in range(1, self.L + 1)}
        self.h = {l: fw[f"h{l}"][0] for l in range(1, self.L + 1)}
        self.h[0] = self.x
        self.y = self.h[self.L]
        self.loss = fw["loss"]
        self._up: dict[str, list[_Edge]] = {}
        self.forward = {**{f"k{l}": self.k[l] for l in range(1, self.L + 1)},
                        **{f"h{l}": self.h[l] for l in range(1, self.L)}, "y": self.y}

    # -- nodes ---------------------------------------------------------------------------------

    def sym(self, node: str) -> _Sym:
        """The display symbol of a node identifier."""
        if node == self.weight:
            return _param_sym(self.net, *self.position)
        return _node_sym(self.net, node)

    def t_sym(self, m: int) -> _Sym:
        return _Sym("t") if self.K == 1 else _Sym("t", (m + 1,))

    def k_node(self, l: int, j: int) -> str:
        return f"k{l}[{j}]"

    def h_node(self, l: int, j: int) -> str:
        if l == 0:
            return f"x[{j}]"
        return f"h{l}[{j}]"

    def value(self, node: str) -> float:
        """The forward pass's value of a unit node."""
        letter, l, j = _unit(node)
        return float((self.k if letter == "k" else self.h)[l][j])    # h[0] is x

    # -- local derivatives ------------------------------------------------------------------

    def factor(self, nodes: tuple[str, ...], kind: str, formula: tuple[str, str], numbers: str,
               value: float, note: str = "") -> Factor:
        lo, up = self.sym(nodes[0]), self.sym(nodes[-1])
        return Factor(f"∂{up.text}/∂{lo.text}", formula[0], numbers, float(value), nodes,
                      kind, note, rf"\frac{{\partial {up.tex}}}{{\partial {lo.tex}}}",
                      formula[1])

    def act_factor(self, nodes: tuple[str, ...], name: str, k: float, h: float,
                   kind: str) -> Factor:
        """∂h/∂k of an element-wise activation, written from the stored h as the lecture
        does (σ' = h(1 − h))."""
        hs, ks = self.sym(nodes[-1]), self.sym(nodes[0])
        text, tex, peak = _ACTIVATIONS[name]
        v = float(F.activate_grad(F.HIDDEN[name], k, h))
        if name == "relu":
            note = ("ReLU on (k > 0): passes the gradient" if v else
                    "ReLU off (k ≤ 0): blocks this path")
        elif name == "identity":
            note = "identity activation"
        elif v < SATURATED * peak:
            note = (f"saturated {name}, {hs.text} = {_num(h)}: it resists change, the step "
                    f"shrinks ×{_num(v, 2)}")
        else:
            note = ""
        return self.factor(nodes, kind, (text(hs.text, ks.text), tex(hs.tex, ks.tex)),
                           text(_paren(h), _num(k)), v, note)

    def loss_factor(self, node: str, m: int) -> Factor:
        """∂l/∂y_m, or ∂l/∂z_m for bce and ce (from the logits, as the engines compute it)."""
        loss, y, t = self.net.loss, float(self.y[m]), float(self.t[0 if self.net.loss == "ce"
                                                                  else m])
        ys, ts = self.sym(self.h_node(self.L, m)), self.t_sym(m)
        nodes = (node, "loss")
        if loss == "squared":
            return self.factor(nodes, "loss", (f"2({ys.text} − {ts.text})",
                                               f"2({ys.tex}-{ts.tex})"),
                               f"2({_num(y)} − {_num(t)})", 2.0 * (y - t))
        if loss == "absolute":
            d = y - t
            return self.factor(nodes, "loss", (f"sign({ys.text} − {ts.text})",
                                               rf"\operatorname{{sign}}({ys.tex}-{ts.tex})"),
                               f"sign({_num(y)} − {_num(t)})",
                               1.0 if d > 0 else (-1.0 if d < 0 else 0.0))
        if loss == "hinge":
            active = 1.0 - t * y > 0.0
            return self.factor(nodes, "loss", (f"−{ts.text}·[{ts.text}{ys.text} < 1]",
                                               rf"-{ts.tex}\,[{ts.tex}{ys.tex} < 1]"),
                               f"−{_paren(t)}·[{_paren(t)}·{_paren(y)} < 1]",
                               -t if active else 0.0,
                               "" if active else "margin met: the hinge is flat here")
        if loss == "bce":
            return self.factor(nodes, "loss", (f"{ys.text} − {ts.text}",
                                               f"{ys.tex}-{ts.tex}"),
                               f"{_num(y)} − {_num(t)}", y - t,
                               f"from the logit: {ys.text} = σ({self.sym(node).text})")
        target = int(t) == m                                    # ce
        return self.factor(nodes, "loss", (f"{ys.text} − {int(target)}",
                                           f"{ys.tex}-{int(target)}"),
                           f"{_num(y)} − {int(target)}", y - (1.0 if target else 0.0),
                           f"from the logits; output {m + 1} is "
                           f"{'the target class' if target else 'not the target class'}")

    # -- the graph ---------------------------------------------------------------------------

    def up(self, node: str) -> list[_Edge]:
        """The edges from ``node`` one operation up, each with its local derivative."""
        if node not in self._up:
            self._up[node] = self._edges_up(node)
        return self._up[node]

    def _edges_up(self, node: str) -> list[_Edge]:
        net, L = self.net, self.L
        if node == "loss":
            return []
        if node == self.weight:                          # the parameter: into its k
            kind, l, j, i = self.position
            kn = self.k_node(l + 1, j)
            fused = l + 1 == L and self.fused
            nodes = (node, kn, self.h_node(L, j)) if fused else (node, kn)
            if kind == "b":
                f = self.factor(nodes, "bias", ("1", "1"), "1", 1.0)
            else:
                src = self.h_node(l, i)
                s, v = self.sym(src), self.value(src)
                what = "input" if l == 0 else "activation"
                note = (f"negative {what}: flips the sign" if v < 0 else
                        f"zero {what}: the weight had no influence" if v == 0 else "")
                f = self.factor(nodes, "input", (s.text, s.tex), _num(v), v, note)
            return [_Edge(nodes, f)]
        letter, l, j = _unit(node)
        if letter == "k":
            k = float(self.k[l][j])
            if l < L:
                nodes = (node, self.h_node(l, j))
                return [_Edge(nodes, self.act_factor(nodes, net.hidden, k, float(self.h[l][j]),
                                                     "activation"))]
            if self.logits:
                return [_Edge((node, "loss"), self.loss_factor(node, j))]
            if net.output == "softmax":
                edges = []
                for jj in range(self.K):
                    yj, ym = float(self.y[jj]), float(self.y[j])
                    a, b = self.sym(self.h_node(self.L, jj)), self.sym(self.h_node(self.L, j))
                    nodes = (node, self.h_node(self.L, jj))
                    if jj == j:
                        f = self.factor(nodes, "output", (f"{a.text}(1 − {a.text})",
                                                          f"{a.tex}(1-{a.tex})"),
                                        f"{_num(yj)}(1 − {_num(yj)})", yj * (1.0 - yj),
                                        "softmax, same output")
                    else:
                        f = self.factor(nodes, "output", (f"−{a.text}{b.text}",
                                                          f"-{a.tex}{b.tex}"),
                                        f"−{_num(yj)}·{_num(ym)}", -yj * ym,
                                        "softmax: every output depends on every logit")
                    edges.append(_Edge(nodes, f))
                return edges
            nodes = (node, self.h_node(self.L, j))               # element-wise output (sigmoid)
            return [_Edge(nodes, self.act_factor(nodes, net.output, k, float(self.y[j]),
                                                 "output"))]
        if letter == "h" and l == L:                     # the output: into the loss
            return [_Edge((node, "loss"), self.loss_factor(node, j))]
        # an input or a hidden activation: into every k of the next layer
        i, W = j, net.weights(l)
        edges = []
        for j in range(net.sizes[l + 1]):
            kn = self.k_node(l + 1, j)
            fused = l + 1 == L and self.fused
            nodes = (node, kn, self.h_node(L, j)) if fused else (node, kn)
            s, v = _param_sym(net, "W", l, j, i), float(W[j, i])
            note = "negative weight: flips the sign" if v < 0 else ""
            edges.append(_Edge(nodes, self.factor(nodes, "weight", (s.text, s.tex),
                                                  _num(v), v, note)))
        return edges

    def count_paths(self) -> int:
        """How many paths lead from the weight to the loss (per layer: fully connected)."""
        L, sizes = self.L, self.net.sizes
        top = self.K if (self.net.output == "softmax" and not self.logits) else 1
        l0 = self.position[1] + 1                             # the layer of the weight's k
        n = top
        for l in range(l0 + 1, L + 1):
            n *= sizes[l]
        return n

    def enumerate_paths(self) -> list[list[_Edge]]:
        paths: list[list[_Edge]] = []

        def walk(node: str, so_far: list[_Edge]) -> None:
            if node == "loss":
                paths.append(list(so_far))
                return
            for e in self.up(node):
                so_far.append(e)
                walk(e.nodes[-1], so_far)
                so_far.pop()

        walk(self.weight, [])
        return paths

    def edge_set(self) -> set[tuple[str, str]]:
        edges: set[tuple[str, str]] = set()
        frontier, seen = [self.weight], {self.weight}
        while frontier:
            node = frontier.pop()
            for e in self.up(node):
                edges.update(zip(e.nodes[:-1], e.nodes[1:]))
                if e.nodes[-1] not in seen:
                    seen.add(e.nodes[-1])
                    frontier.append(e.nodes[-1])
        return edges

    # -- the accumulated form (backpropagation, slides 45-46) --------------------------------

    def layer_sym(self, letter: str, l: int) -> _Sym:
        """The symbol of layer l's vector of pre-activations ("k") or activations ("h")."""
        if l == 0:
            return _Sym("x")
        if l == self.L:
            return _Sym("y" if (letter == "h" or self.fused) else "z")
        return _Sym(letter, (), None if self.lecture else l)

    def accumulate(self) -> tuple[dict[str, float], list[Step], float]:
        """∂l/∂node for every node, from the loss down, one layer at a time (slides 45-46),
        and the steps that show it; returns (node gradients, steps, ∂l/∂weight). The numbers
        are the scalar engine's backward pass; the formulas are the lecture's."""
        net, L, K, fw = self.net, self.L, self.K, self.fw
        grads: dict[str, float] = {}
        steps: list[Step] = []
        zs, ys = self.layer_sym("k", L), _Sym("y")
        dz = fw[f"k{L}_grad"][0]
        logits = [f"k{L}[{m}]" for m in range(K)]
        if self.logits:
            steps.append(self._step(zs, _LOSS_GRAD[net.loss], dz, logits))
        else:
            dy = fw[f"h{L}_grad"][0]
            outputs = [self.h_node(self.L, m) for m in range(K)]
            steps.append(self._step(ys, _LOSS_GRAD[net.loss], dy, outputs))
            grads.update({node: float(dy[m]) for m, node in enumerate(outputs)})
            if net.output in _OUTPUT_GRAD:          # through the output activation
                steps.append(self._step(zs, _OUTPUT_GRAD[net.output], dz, logits))
        grads.update({node: float(dz[m]) for m, node in enumerate(logits)})
        _, l0, j0, i0 = self.position
        # every layer down to the first (node_grads); the steps shown stop at the weight's
        for l in range(L - 1, 0, -1):
            dh, dk = fw[f"h{l}_grad"][0], fw[f"k{l}_grad"][0]
            grads.update({self.h_node(l, i): float(dh[i]) for i in range(len(dh))})
            grads.update({self.k_node(l, i): float(dk[i]) for i in range(len(dk))})
            if l <= l0:
                continue
            above, hs, ks = self.layer_sym("k", l + 1), self.layer_sym("h", l), \
                self.layer_sym("k", l)
            # the multivariate chain rule at each unit: a sum over the layer above
            sum_text, sum_tex = self._sum_formula(l, above)
            terms = ""
            if l == l0 + 1:                     # the unit on the weight's chain, written out
                W, above_grad = net.weights(l), fw[f"k{l + 1}_grad"][0]
                parts = [f"{_paren(above_grad[m])}·{_paren(W[m, j0])}"
                         for m in range(W.shape[0])]
                shown = " + ".join(parts[:8]) + (" + …" if len(parts) > 8 else "")
                hu = self.sym(self.h_node(l, j0)).text
                terms = f"{hu} = {shown} = {_num(dh[j0])}"
            steps.append(Step(f"∂l/∂{hs.text}", sum_text, dh,
                              tuple(self.h_node(l, i) for i in range(len(dh))),
                              rf"\frac{{\partial l}}{{\partial {hs.tex}}}", sum_tex, terms))
            text, tex, _ = _ACTIVATIONS[net.hidden]
            steps.append(Step(f"∂l/∂{ks.text}",
                              f"∂l/∂{hs.text} ⊙ {_wrap(text(hs.text, ks.text))}", dk,
                              tuple(self.k_node(l, i) for i in range(len(dk))),
                              rf"\frac{{\partial l}}{{\partial {ks.tex}}}",
                              rf"\frac{{\partial l}}{{\partial {hs.tex}}} \odot "
                              + _wrap(tex(hs.tex, ks.tex))))
        dk = fw[f"k{l0 + 1}_grad"][0]
        src = 1.0 if i0 is None else float(self.h[l0][i0])
        g = float(dk[j0] * src)
        ws, kn = self.sym(self.weight), self.sym(self.k_node(l0 + 1, j0))
        srcs = _Sym("1") if i0 is None else self.sym(self.h_node(l0, i0))
        steps.append(Step(f"∂l/∂{ws.text}", f"∂l/∂{kn.text} · {srcs.text}", np.array([g]),
                          (self.weight,), rf"\frac{{\partial l}}{{\partial {ws.tex}}}",
                          rf"\frac{{\partial l}}{{\partial {kn.tex}}} \cdot {srcs.tex}",
                          f"= {_paren(dk[j0])} · {_paren(src)} = {_num(g)}"))
        return grads, steps, g

    def _sum_formula(self, l: int, above: _Sym) -> tuple[str, str]:
        """∂l/∂h_j as the sum over the layer above (slide 30), in the display notation."""
        if self.lecture:                        # l == 1: hidden j to the outputs through v
            if self.K == 1:
                return (f"∂l/∂{above.text} · vⱼ",
                        rf"\frac{{\partial l}}{{\partial {above.tex}}} \, v_j")
            return (f"Σₘ ∂l/∂{above.text}ₘ · vⱼₘ",
                    rf"\sum_m \frac{{\partial l}}{{\partial {above.tex}_m}} \, v_{{jm}}")
        W = _Sym("W", (), l + 1)
        return (f"Σₘ ∂l/∂{above.text}ₘ · {W.text}ₘⱼ",
                rf"\sum_m \frac{{\partial l}}{{\partial {above.tex}_m}} \, {W.tex}_{{mj}}")

    def _step(self, s: _Sym, txt: tuple[str, str], values: np.ndarray,
              nodes: list[str]) -> Step:
        return Step(f"∂l/∂{s.text}", txt[0], np.asarray(values, dtype=float), tuple(nodes),
                    rf"\frac{{\partial l}}{{\partial {s.tex}}}", txt[1])

    # -- the result ----------------------------------------------------------------------------

    def result(self) -> Explanation:
        net = self.net
        num_paths = self.count_paths()
        grads, steps, accumulated = self.accumulate()
        paths: list[Path] = []
        path_sum = None
        if num_paths <= self.max_paths:
            for edges in self.enumerate_paths():
                factors = tuple(e.factor for e in reversed(edges))
                nodes = (edges[0].nodes[0],) + tuple(n for e in edges for n in e.nodes[1:])
                shown = (edges[0].nodes[0],) + tuple(e.nodes[-1] for e in edges)
                paths.append(Path(nodes, factors, float(math.prod(f.value for f in factors)),
                                  tuple(self.sym(n).text for n in shown)))
            path_sum = float(sum(p.value for p in paths))
        gradient = path_sum if path_sum is not None else accumulated
        # the chain: walk up while the path does not split; then the accumulated ∂l/∂node
        chain: list[Factor] = []
        node, branch = self.weight, None
        while node != "loss":
            edges = self.up(node)
            if len(edges) > 1:
                branch = node
                break
            chain.append(edges[0].factor)
            node = edges[0].nodes[-1]
        if branch is not None:
            # the multivariate chain rule at the split (slide 30): Σ_m ∂l/∂a_m · ∂a_m/∂node,
            # a softmax's logit into every y, or an activation into every k of the next layer
            letter, l, _ = _unit(branch)
            s = self.sym(branch)
            a = _Sym("y") if letter == "k" else self.layer_sym("k", l + 1)
            chain.append(Factor(f"∂l/∂{s.text}", f"Σₘ ∂l/∂{a.text}ₘ·∂{a.text}ₘ/∂{s.text}",
                                _num(grads[branch]), grads[branch], (branch, "loss"),
                                "accumulated", f"summed over {num_paths} paths",
                                rf"\frac{{\partial l}}{{\partial {s.tex}}}",
                                rf"\sum_m \frac{{\partial l}}{{\partial {a.tex}_m}}"
                                rf"\frac{{\partial {a.tex}_m}}{{\partial {s.tex}}}"))
        chain.reverse()
        _, gv = vectorized.loss_and_grad(net, self.X, self.T)
        engines = {"scalar": float(self.fw["grad"][self.index]),
                   "vectorized": float(gv[self.index])}
        # the central quotient, and the one-sided ones that tell a kink (params restored)
        fd, fwd, bwd = difference_quotients(net, self.X, self.T, get_engine("vectorized"),
                                            self.eps, indices=[self.index])
        kink = at_kink(net, np.array([gradient]), fwd, bwd, atol=1e-5, rtol=1e-3)[0]
        outputs = self.outputs()
        direction = -int(np.sign(gradient))
        ws = self.sym(self.weight)
        return Explanation(
            weight=self.weight, index=self.index, value=float(net.params[self.index]),
            symbol=ws.text, latex=ws.tex, lecture_name=self.lecture_name,
            network=(f"network {'-'.join(map(str, net.sizes))}, hidden {net.hidden}, output "
                     f"{net.output}, loss {net.loss}"),
            x=self.x.copy(), t=self.t.copy(), forward=self.forward, loss=self.loss,
            factors=tuple(chain), branch=branch, paths=tuple(paths), num_paths=num_paths,
            max_paths=self.max_paths, path_sum=path_sum, accumulated=tuple(steps),
            node_grads=grads, node_values=self.node_values(), gradient=float(gradient),
            engines=engines,
            finite_difference=float(fd[0]), one_sided=(float(bwd[0]), float(fwd[0])),
            eps=self.eps, at_kink=bool(kink), update_direction=direction,
            reading=tuple(self.reading(chain, paths, float(gradient), ws.text, num_paths,
                                       outputs)),
            context=tuple(self.context(chain, outputs)), symbols=self.symbols(),
            _edges=self.edge_set)

    def node_values(self) -> dict[str, float]:
        """The forward pass's value of every node identifier (see the module doc)."""
        values = {f"x[{i}]": float(v) for i, v in enumerate(self.x)}
        for l in range(1, self.L + 1):
            values.update({self.k_node(l, j): float(v) for j, v in enumerate(self.k[l])})
            values.update({self.h_node(l, j): float(v) for j, v in enumerate(self.h[l])})
        values.update({f"t[{m}]": float(v) for m, v in enumerate(self.t)})
        values["loss"] = float(self.loss)
        return values

    def symbols(self) -> dict[str, str]:
        """The display symbol of the weight and of every unit (inputs, k, h, y, the loss)."""
        L, sizes = self.L, self.net.sizes
        nodes = [self.weight, "loss"] + [f"x[{i}]" for i in range(sizes[0])]
        for l in range(1, L + 1):
            nodes += [self.k_node(l, j) for j in range(sizes[l])]
            nodes += [self.h_node(l, j) for j in range(sizes[l])]
        return {n: self.sym(n).text for n in nodes}

    # -- the gradient-descent reading (slides 47-53) ------------------------------------------

    def outputs(self) -> list[tuple[str, str, int]]:
        """Per output: (what is wrong, the node the loss reads, which way l wants it: ±1/0),
        before any weight is involved (slides 47-48)."""
        net, out = self.net, []
        for m in range(self.K):
            y = float(self.y[m])
            ys = self.sym(self.h_node(self.L, m)).text
            zs = self.sym(f"k{self.L}[{m}]").text
            if net.loss in ("squared", "absolute"):
                t = float(self.t[m])
                ts = self.t_sym(m).text
                if y == t:
                    out.append((f"{ys} = {ts} = {_num(y)}: no error", ys, 0))
                else:
                    hi = y > t
                    out.append((f"{ys} = {_num(y)} is {'above' if hi else 'below'} {ts} = "
                                f"{_num(t)} (output too {'high' if hi else 'low'})", ys,
                                -1 if hi else 1))
            elif net.loss == "hinge":
                t = float(self.t[0])
                if 1 - t * y > 0:
                    out.append((f"t·y = {_num(t * y)} < 1: the margin is not met, y should "
                                f"move toward t = {_num(t)}", ys, int(np.sign(t))))
                else:
                    out.append((f"t·y = {_num(t * y)} ≥ 1: the margin is met, the hinge is "
                                "flat and this example teaches nothing", ys, 0))
            elif net.loss == "bce":
                t = float(self.t[m])
                hi = y > t
                out.append((f"{ys} = σ({zs}) = {_num(y)} is the predicted probability, target "
                            f"{_num(t)} (too {'high' if hi else 'low'})", zs, -1 if hi else 1))
            else:
                if int(self.t[0]) == m:
                    out.append((f"{ys} = {_num(y)} is the probability of the true class "
                                f"(t = {int(self.t[0])}), below 1", zs, 1))
                else:
                    out.append((f"{ys} = {_num(y)} is probability given to a wrong class",
                                zs, -1))
        return out

    def context(self, chain: list[Factor], outputs: list[tuple[str, str, int]]) -> list[str]:
        """What the loss wants of each output (:meth:`outputs`), when the chain does not start
        at one."""
        if chain[0].kind != "accumulated":
            return []
        arrows = {1: "up", -1: "down", 0: "where it is"}
        return [f"{why}: l wants {node} {arrows[d]}" for why, node, d in outputs]

    def reading(self, chain: list[Factor], paths: list[Path], g: float, w: str,
                num_paths: int, outputs: list[tuple[str, str, int]]) -> list[str]:
        """Slides 47-53: which way the loss wants each node on the chain to move, from the top
        down, and so which way gradient descent moves the weight."""
        arrows = {1: "up", -1: "down", 0: "unchanged"}
        lines = []
        top = chain[0]
        lower = self.sym(top.nodes[0]).text
        want = -top.sign
        cmp = {1: "> 0", -1: "< 0", 0: "= 0"}
        if top.kind == "accumulated":
            lines.append(f"summed over the {num_paths} paths, {top.symbol} = "
                         f"{_num(top.value)} {cmp[top.sign]}: l wants {lower} {arrows[want]}")
        else:
            why = outputs[_unit(top.nodes[0])[2]][0]     # the output the chain starts at
            lines.append(f"{why}, {top.symbol} = {top.formula} = {_num(top.value)} "
                         f"{cmp[top.sign]}: l wants {lower} {arrows[want]}"
                         + (f" ({top.note})" if top.note and top.sign == 0 else ""))
        for f in chain[1:]:
            if want == 0:
                break
            upper, lower = self.sym(f.nodes[-1]).text, self.sym(f.nodes[0]).text
            value = f"{f.symbol} = {f.formula}" + ("" if f.formula == _num(f.value) else
                                                  f" = {_num(f.value)}")
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
        if g == 0:
            lines.append(f"∂l/∂{w} = 0: {w} ← {w} − α·0, {w} stays where it is")
        else:
            plus = f" = {w} + α·{_num(-g)}" if g < 0 else ""
            lines.append(f"so {w} ← {w} − α·{_paren(g)}{plus}: {w} "
                         f"{'increases' if g < 0 else 'decreases'}")
        return lines
