"""What :func:`~scalarprop.explain.explain` finds: :class:`Explanation` and its pieces
(:class:`Factor`, :class:`Path`, :class:`Step`), with its renderings ``str()`` (text),
:meth:`Explanation.to_markdown` (Markdown with TeX, what a notebook shows), both written by
:mod:`.render`, and :meth:`Explanation.to_dict` (plain JSON)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .notation import Math, num, partial, symbol, word, wrap


@dataclass(frozen=True)
class Factor:
    """One local derivative ``∂upper/∂lower`` on a path (or, as the top of a chain shared by
    several paths, the accumulated global derivative of the node where they split).

    ``nodes`` are the node identifiers it spans, lower first (two, or three where an identity
    output joins ``z`` and ``y``); ``formula`` is its symbolic form, ``numbers`` the formula
    with the forward pass's values, ``value`` the number; ``latex_*`` the same in TeX. ``kind``
    is one of ``loss``, ``output`` (the output activation), ``activation``, ``weight``
    (``∂k/∂h``: a weight), ``input`` (``∂k/∂W``: the value the weight multiplies), ``bias``
    and ``accumulated``.
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
    latex_numbers: str = ""

    @property
    def sign(self) -> int:
        """+1, -1 or 0."""
        return int(np.sign(self.value))

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "formula": self.formula, "numbers": self.numbers,
                "latex_symbol": self.latex_symbol, "latex_formula": self.latex_formula,
                "latex_numbers": self.latex_numbers, "value": plain(self.value),
                "sign": self.sign, "kind": self.kind, "nodes": list(self.nodes),
                "note": self.note}


def make_factor(upper: Math, lower: Math, nodes: tuple[str, ...], kind: str, formula: Math,
                numbers: Math, value: float, note: str = "") -> Factor:
    """A :class:`Factor` ``∂upper/∂lower = formula = numbers = value``."""
    d = partial(upper, lower)
    return Factor(d.text, formula.text, numbers.text, float(value), nodes, kind, note, d.tex,
                  formula.tex, numbers.tex)


@dataclass(frozen=True)
class Path:
    """One path from the weight to the loss: ``nodes`` weight first, ``factors`` in the order
    the chain is written (the loss first), ``value`` their product, ``symbols`` the display
    symbols of the nodes it passes."""

    nodes: tuple[str, ...]
    factors: tuple[Factor, ...]
    value: float
    symbols: tuple[str, ...] = ()

    @property
    def sign(self) -> int:
        return int(np.sign(self.value))

    def __str__(self) -> str:
        chain = " · ".join(wrap(f.formula) for f in self.factors)
        values = " · ".join(wrap(num(f.value)) for f in self.factors)
        return f"{' → '.join(self.symbols)}:  {chain} = {values} = {num(self.value)}"


@dataclass(frozen=True)
class Step:
    """One line of the accumulated form: the global derivative of a layer's nodes (or of one
    node), as backpropagation computes it from the layer above. ``terms``: for the one unit
    on the weight's chain, its sum written out with numbers."""

    symbol: str
    formula: str
    values: np.ndarray
    nodes: tuple[str, ...]
    latex_symbol: str = ""
    latex_formula: str = ""
    terms: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "formula": self.formula,
                "latex_symbol": self.latex_symbol, "latex_formula": self.latex_formula,
                "nodes": list(self.nodes), "values": plain(self.values), "terms": self.terms}


def plain(v: Any) -> Any:
    """Numbers as JSON takes them: floats and lists of floats, None for NaN and infinities."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [plain(x) for x in v]
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass
class Explanation:
    """What :func:`~scalarprop.explain.explain` found: ``str()`` is the derivation,
    :meth:`to_markdown` renders it for a notebook, :meth:`to_dict` as JSON. Every number is
    also an attribute.

    Attributes:
        weight: the parameter's name (``"W0[1,0]"``); ``index`` its flat index; ``value`` its
            current value; ``symbol`` its display symbol (``"w₁₂"``) and ``latex`` in TeX;
            ``lecture_name`` its name in the lecture's notation (``"w12"``) when the network
            has one hidden layer.
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
        x, t, y, loss: the example, the network's output and the loss; ``forward``: every
            layer's ``k{l}``, ``h{l}`` and ``y``.
        symbols: the display symbol of the weight and of every unit's node identifier.
        path_edges: every ``(lower, upper)`` pair of node identifiers on some path.
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
    y: np.ndarray
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
    path_edges: frozenset[tuple[str, str]] = field(default=frozenset(), repr=False)

    def __repr__(self) -> str:
        paths = f"{self.num_paths} path{'s' if self.num_paths != 1 else ''}"
        return (f"Explanation(∂l/∂{self.symbol} = {num(self.gradient)}, {self.weight}, "
                f"{paths}, scalar {num(self.engines['scalar'])}, finite difference "
                f"{num(self.finite_difference)})")

    # -- for programs ---------------------------------------------------------------------------

    @property
    def forward(self) -> dict[str, np.ndarray]:
        """Every layer's ``k{l}`` and ``h{l}`` from the forward pass, the output's ``h{L}`` as
        ``y``."""
        layers: dict[str, list[float]] = {}
        for node, v in self.node_values.items():
            if node[0] in "kh":                 # node_values lists each layer's units in order
                layers.setdefault(node.split("[")[0], []).append(v)
        last = max(int(name[1:]) for name in layers)
        return {("y" if name == f"h{last}" else name): np.array(values)
                for name, values in layers.items()}

    @property
    def path_nodes(self) -> list[tuple[str, ...]]:
        """Every listed path as its node identifiers, weight first."""
        return [p.nodes for p in self.paths]

    def edges(self) -> set[tuple[str, str]]:
        """Every ``(lower, upper)`` pair of node identifiers on some path from the weight to
        the loss, also when there are too many paths to list (a drawing highlights these)."""
        return set(self.path_edges)

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
        edges = sorted(self.path_edges)
        return {
            "weight": self.weight, "index": self.index, "value": plain(self.value),
            "symbol": self.symbol, "latex": self.latex, "lecture_name": self.lecture_name,
            "network": self.network,
            "x": plain(self.x), "t": plain(self.t), "y": plain(self.y), "loss": plain(self.loss),
            "chain": {"symbol": f"∂l/∂{self.symbol}",
                      "latex": partial(symbol("l"), word(self.symbol, self.latex)).tex,
                      "product": plain(self.product)},
            "factors": [f.as_dict() for f in self.factors], "branch": self.branch,
            "num_paths": self.num_paths, "max_paths": self.max_paths,
            "paths": [{"nodes": list(p.nodes), "symbols": list(p.symbols),
                       "factors": [f.as_dict() for f in p.factors],
                       "value": plain(p.value)} for p in self.paths],
            "path_sum": plain(self.path_sum),
            "accumulated": [s.as_dict() for s in self.accumulated],
            "gradient": plain(self.gradient), "engines": plain(self.engines),
            "finite_difference": plain(self.finite_difference), "eps": self.eps,
            "one_sided": plain(list(self.one_sided)), "at_kink": self.at_kink,
            "update_direction": self.update_direction, "reading": list(self.reading),
            "context": list(self.context),
            "nodes": sorted({n for edge in edges for n in edge}),
            "edges": [list(e) for e in edges],
            "node_values": plain(self.node_values), "node_grads": plain(self.node_grads),
            "symbols": dict(self.symbols),
            "text": str(self), "markdown": self.to_markdown(),
        }

    # -- for people -----------------------------------------------------------------------------

    def __str__(self) -> str:
        from .render import parts, render_text

        return render_text(parts(self))

    def to_markdown(self) -> str:
        """The derivation in Markdown with TeX (what a notebook shows)."""
        from .render import parts, render_markdown

        return render_markdown(parts(self))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
