"""The network as the slides draw it (slides 41-53): values, gradients, update directions.

Slide 41 draws the 2-3-1 network as a computation graph: the inputs ``x``, each hidden unit
split into the linear part ``k = Σ w x + b`` and its activation ``h = σ(k)``, the output ``y``,
and one more step, the loss ``l`` that compares ``y`` with the target ``t``. :func:`draw`
draws any :class:`~scalarprop.network.MLP` that way, inputs on the left and the loss on the
right, and fills in the numbers of one example:

* ``show="values"``: every node's value from the forward pass (slide 43); edges are the
  weights, their width by ``|w|``, their colour by the sign of ``w``.
* ``show="gradients"``: every node's ``∂l/∂node`` and every edge's ``∂l/∂w`` (slide 45: the
  backward pass computes them all on the way down), edges sized and coloured by ``∂l/∂w``.
* ``show="updates"``: which way gradient descent ``w ← w − α·∂l/∂w`` moves each weight, and
  which way each node "wants" to move (slides 47-53): labels are ``−∂l/∂·``, blue up, red down.

With ``weight=`` the paths from that weight to the loss are highlighted and the chain of local
derivatives from :func:`scalarprop.explain.explain` is printed beside the network.

A layer wider than ``max_units`` is drawn with a gap ("… 760 more") that keeps its strongest
units: those that move the next layer most, ``|a_i| · Σ_j |W[j,i]|`` for an input or hidden
unit with value ``a_i`` (``Σ_j |W[j,i]|`` without an example), and the largest ``|y_j|`` for an
output. Units the highlighted weight touches, and the target class, are always kept.

Every text artist carries a ``gid`` that names what it shows, so a program (or a test) can read
the picture back: ``"node:k1[2]"`` (the node identifiers of :mod:`scalarprop.explain`,
zero-based: ``x[i]`` the inputs, ``k{l}[j]``, ``h{l}[j]``, the output ``h{L}[m]``, ``t[m]`` the
target, ``loss``), ``"edge:W0[1,0]"`` and ``"edge:b0[1]"`` (parameter names), ``"gap:x"`` and
``"gap:1"`` (the gap markers of the inputs and of layer 1), ``"chain"`` (the derivation).
Highlighted paths are ``Line2D`` artists whose gid lists the path's node identifiers,
``"path:W0[1,0]>k1[1]>h1[1]>k2[0]>h2[0]>loss"`` (beyond explain's ``max_paths`` one
``LineCollection``, ``"paths:edges"``, of the edges on some path).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engines import get_engine
from ..explain import SUBSCRIPT, explain, node_symbol, parse_weight
from ..validate import check_T, check_X

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..network import MLP

SHOWS = ("values", "gradients", "updates")
#: a layer with more units than this is drawn with a gap
MAX_UNITS = 16
#: a layer's edges carry labels when it has at most this many drawn edges
EDGE_LABEL_LIMIT = 9
#: horizontal distance between columns joined by weights, and by an activation
WEIGHT_STEP, ACTIVATION_STEP = 1.6, 0.9

POSITIVE, NEGATIVE, NEUTRAL = "#1f5fbf", "#cc3311", "#9a9a9a"
HIGHLIGHT = "#ffbf00"


@functools.cache
def picture_class() -> type:
    """A :class:`matplotlib.figure.Figure` that shows itself in a notebook (``_repr_png_``)
    also where pyplot's inline backend never ran: no display, no pyplot state needed."""
    from matplotlib.figure import Figure

    class Picture(Figure):
        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100)
            return buf.getvalue()

    return Picture


def fmt(v: float) -> str:
    """A number as the figure prints it: three significant digits (``-3.96``, ``0.99``)."""
    s = f"{float(v):.3g}"
    return "0" if s in ("-0", "0") else s


# -- what to draw ------------------------------------------------------------------------------


@dataclass
class _Column:
    """One column of nodes: the inputs, one layer's k or h, the output, the target."""
    part: str               # "x", "k", "h", "t"
    layer: int              # 0 for inputs, l for layer l's units
    x: float                # horizontal position
    units: np.ndarray       # the unit indices drawn, in index order
    hidden: int             # how many are left out (the gap)
    y: dict[int, float] = field(default_factory=dict)   # unit index -> vertical position
    gap_y: float | None = None

    def key(self, i: int) -> str:
        if self.part in ("x", "t"):
            return f"{self.part}[{i}]"
        return f"{self.part}{self.layer}[{i}]"


@dataclass
class _Example:
    """The numbers of one forward and backward pass, by node key."""
    value: dict[str, float]
    grad: dict[str, float]
    param_grad: np.ndarray
    loss: float


def _check_args(net: MLP, x: Any, t: Any, weight: Any, show: str, max_units: Any
                ) -> tuple[np.ndarray | None, np.ndarray | None, int | None]:
    from ..network import MLP

    if not isinstance(net, MLP):
        raise ValueError(f"net: expected a scalarprop MLP, got {type(net).__name__}")
    if show not in SHOWS:
        raise ValueError(f"show={show!r}: expected one of {list(SHOWS)}")
    if isinstance(max_units, bool) or not isinstance(max_units, (int, np.integer)) \
            or max_units < 2:
        raise ValueError(f"max_units={max_units!r}: expected an integer >= 2")
    if (x is None) != (t is None):
        raise ValueError("x and t: give both (one example and its target) or neither")
    Xc = Tc = None
    if x is not None:
        Xc, _ = check_X(net, x, "x")
        if Xc.shape[0] != 1:
            raise ValueError(f"x: draw shows one example, shape ({net.sizes[0]},); got a batch "
                             f"of {Xc.shape[0]}")
        Tc = check_T(net, t, 1, "t")
    elif show != "values":
        raise ValueError(f"show={show!r} needs an example: pass x and t")
    index = None
    if weight is not None:
        if Xc is None:
            raise ValueError("weight= needs an example to explain the chain: pass x and t")
        index = parse_weight(net, weight)      # its ValueError lists the valid names
    return Xc, Tc, index


def _example(net: MLP, X: np.ndarray, T: np.ndarray, nodes: dict[str, Any]) -> _Example:
    """Every node's value and ∂l/∂node from an engine's ``nodes(net, X, T)``."""
    value: dict[str, float] = {}
    grad: dict[str, float] = {}
    for i, xi in enumerate(X[0]):
        value[f"x[{i}]"] = float(xi)
    # ∂l/∂x: the inputs are not parameters, but the slides' "imagine it is a parameter"
    # (slide 48) reads the same; it is the step the backward pass would take for an h below
    x_grad = nodes["k1_grad"][0] @ net.weights(0)
    for i, g in enumerate(x_grad):
        grad[f"x[{i}]"] = float(g)
    for l in range(1, net.num_layers + 1):
        for part in ("k", "h"):
            for j, (v, g) in enumerate(zip(nodes[f"{part}{l}"][0], nodes[f"{part}{l}_grad"][0])):
                value[f"{part}{l}[{j}]"] = float(v)
                grad[f"{part}{l}[{j}]"] = float(g)
    value["loss"], grad["loss"] = float(nodes["loss"]), 1.0
    if net.loss == "ce":
        value["t[0]"] = float(T[0, 0])
    else:
        for j, tj in enumerate(T[0]):
            value[f"t[{j}]"] = float(tj)
    return _Example(value, grad, np.asarray(nodes["grad"], dtype=float), float(nodes["loss"]))


def _keep(strength: np.ndarray, force: set[int], max_units: int) -> np.ndarray:
    """The indices of the ``max_units`` strongest units (ties: lower index first), with the
    forced ones always among them, in index order."""
    n = strength.shape[0]
    if n <= max_units:
        return np.arange(n)
    order = np.argsort(-strength, kind="stable")
    chosen = [i for i in sorted(force) if 0 <= i < n][:max_units]
    taken = set(chosen)
    for i in order:
        if len(chosen) >= max_units:
            break
        if int(i) not in taken:
            chosen.append(int(i))
            taken.add(int(i))
    return np.array(sorted(chosen), dtype=int)


def _strengths(net: MLP, ex: _Example | None) -> list[np.ndarray]:
    """How strongly each unit of each layer (0 = inputs) drives the next layer."""
    out = []
    for u in range(net.num_layers + 1):
        n = net.sizes[u]
        key = "x[%d]" if u == 0 else f"h{u}[%d]"
        a = np.ones(n) if ex is None else np.abs([ex.value[key % i] for i in range(n)])
        if u < net.num_layers:
            out.append(a * np.abs(net.weights(u)).sum(axis=0))
        else:
            out.append(a if ex is not None else np.zeros(n))
    return out


def _touched(net: MLP, index: int | None) -> dict[int, set[int]]:
    """Units a parameter touches: its source and target unit, by layer of units."""
    if index is None:
        return {}
    _, l, j, i = net.param_position(index)
    touched = {l + 1: {j}}
    if i is not None:
        touched[l] = {i}
    return touched


def _layout(net: MLP, ex: _Example | None, index: int | None, max_units: int
            ) -> tuple[list[_Column], int]:
    """The columns of nodes and their positions; returns them and the tallest column's slots."""
    strength = _strengths(net, ex)
    force = _touched(net, index)
    if ex is not None and net.loss == "ce":
        force.setdefault(net.num_layers, set()).add(int(ex.value["t[0]"]))
    kept = [_keep(strength[u], force.get(u, set()), max_units) for u in range(len(strength))]
    cols: list[_Column] = []
    xpos = 0.0

    def add(part: str, u: int, step: float) -> None:
        nonlocal xpos
        xpos += step
        cols.append(_Column(part, u, xpos, kept[u], net.sizes[u] - kept[u].shape[0]))

    # a weight layer is wider than an activation: its edges carry numbers
    add("x", 0, 0.0)
    for l in range(1, net.num_layers + 1):
        if l < net.num_layers or net.output != "identity":
            add("k", l, WEIGHT_STEP)
            add("h", l, ACTIVATION_STEP)
        else:
            add("h", l, WEIGHT_STEP)
    # the target beside the output, the loss after it
    out = cols[-1]
    t_units = np.array([0]) if net.loss == "ce" else out.units
    cols.append(_Column("t", net.num_layers, out.x + 0.5, t_units, 0))
    slots = max(c.units.shape[0] + (1 if c.hidden else 0) for c in cols)
    for c in cols:
        if c.part == "t":
            continue
        n = c.units.shape[0]
        s = n + (1 if c.hidden else 0)
        top = (s - 1) / 2.0
        gap_at = n // 2 if c.hidden else None
        for r, i in enumerate(c.units):
            slot = r + (1 if gap_at is not None and r >= gap_at else 0)
            c.y[int(i)] = top - slot
        if gap_at is not None:
            c.gap_y = top - gap_at
    # each target just below the output it is compared with (for ce: the target class)
    t_col, out = cols[-1], cols[-2]
    drop = 0.45 if out.units.shape[0] > 1 else 0.6
    for i in t_col.units:
        anchor = int(ex.value["t[0]"]) if (ex is not None and net.loss == "ce") else int(i)
        y_anchor = out.y.get(anchor, 0.0) if net.loss == "ce" else out.y[int(i)]
        t_col.y[int(i)] = y_anchor - drop
    return cols, slots


# -- names as the lecture writes them --------------------------------------------------------


def node_label(net: MLP, part: str, layer: int, i: int) -> str:
    """A node's name in :mod:`scalarprop.explain`'s notation (one-based, as on the slides):
    ``x₁``, ``k₂``, ``h₂``, ``y``; with more than one hidden layer the layer as a superscript
    (``h⁽²⁾₃``); ``z`` for the output's logits under a sigmoid or softmax output (the only
    outputs drawn with a column of logits). The target is ``t``, ``t₂`` with several outputs."""
    if part == "t":
        one = net.sizes[-1] == 1 or net.loss == "ce"
        return "t" if one else "t" + str(i + 1).translate(SUBSCRIPT)
    if part == "x":
        return node_symbol(net, f"x[{i}]")
    return node_symbol(net, f"{part}{layer}[{i}]")


# -- the drawing --------------------------------------------------------------------------------


def draw(net: MLP, x: Any = None, t: Any = None, weight: str | int | None = None,
         show: str = "values", *, engine: str = "scalar", max_units: int = MAX_UNITS,
         edge_labels: bool | None = None) -> Figure:
    """Draw ``net`` as slides 41-53 do, with the numbers of the example ``(x, t)``.

    Args:
        net: the network.
        x, t: one example, shapes ``(sizes[0],)`` and as the loss expects (a class index for
            ce); ``None`` for both draws the weights alone (``show="values"`` only).
        weight: a parameter (``"W0[1,0]"``, ``"b1[0]"``, a flat index, or the lecture's
            ``"w12"``, ``"v2"``, ``"b2"``, ``"c"`` in a 2-layer net): highlight the paths from
            it to the loss and print its chain of local derivatives (needs ``x`` and ``t``).
        show: ``"values"`` (forward pass), ``"gradients"`` (``∂l/∂node``, ``∂l/∂w``) or
            ``"updates"`` (the gradient descent direction ``−∂l/∂·``, slides 47-53).
        engine: which engine computes the numbers ("scalar", "vectorized", "autodiff").
        max_units: layers wider than this are drawn with a gap, keeping the strongest units.
        edge_labels: print a number on every drawn edge; default: in layers with at most
            ``EDGE_LABEL_LIMIT`` drawn edges.

    Returns:
        a :class:`matplotlib.figure.Figure` on the Agg canvas (no display, no pyplot state):
        ``fig.savefig("net.png")`` or ``.svg``; in a notebook it shows itself.
    """
    Xc, Tc, index = _check_args(net, x, t, weight, show, max_units)
    ex = explanation = None
    if Xc is not None:
        nodes = get_engine(engine).nodes(net, Xc, Tc)
        ex = _example(net, Xc, Tc, nodes)
        if index is not None:
            explanation = explain(net, Xc, Tc, index)
    cols, slots = _layout(net, ex, index, int(max_units))
    return _Painter(net, ex, show, cols, slots, explanation, edge_labels).paint()


class _Painter:
    """Puts the columns, edges and labels on a Figure (one call to :meth:`paint`)."""

    def __init__(self, net: MLP, ex: _Example | None, show: str, cols: list[_Column],
                 slots: int, explanation: Any, edge_labels: bool | None) -> None:
        self.net, self.ex, self.show, self.cols = net, ex, show, cols
        self.slots, self.explanation = slots, explanation
        self.edge_labels = edge_labels
        self.pos: dict[str, tuple[float, float]] = {}
        for c in cols:
            for i, yv in c.y.items():
                self.pos[c.key(i)] = (c.x, yv)
        out = cols[-2]
        self.pos["loss"] = (out.x + 1.1, 0.0)
        L = net.num_layers
        if net.output == "identity":         # y = z: the logit k{L} is drawn as y itself
            for i in out.units:
                self.pos[f"k{L}[{i}]"] = self.pos[f"h{L}[{i}]"]
        self.small = slots > 8

    # what a node and a parameter show -----------------------------------------------------

    def _shown(self, value: Any, grad: Any) -> Any:
        """What the picture shows of a value and its ∂l/∂·: it, ∂l/∂· or −∂l/∂·."""
        if self.show == "values":
            return value
        return grad if self.show == "gradients" else -grad

    def node_number(self, key: str) -> float | None:
        ex = self.ex
        if ex is None:
            return None
        if key.startswith("t"):
            return ex.value[key]              # the target is data: always its value
        return self._shown(ex.value[key], ex.grad[key])

    def param_numbers(self, idx: Any) -> Any:
        """What the edges of flat indices ``idx`` (or one index) show and are sized and
        coloured by: w, ∂l/∂w or −∂l/∂w."""
        if self.ex is None:
            return self.net.params[idx]
        return self._shown(self.net.params[idx], self.ex.param_grad[idx])

    # the picture ----------------------------------------------------------------------------

    def paint(self) -> Figure:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        # sizes in inches: a column of nodes every 0.42 in, margins for title and legend
        span = self.pos["loss"][0] + 1.2
        side = 4.8 if self.explanation is not None else 0.0
        width = 1.2 * span + 0.4 + side
        height = max(3.2, 0.42 * max(self.slots, 2) + 1.6)
        if self.explanation is not None:     # room for the chain: about 12 lines + factors
            height = max(height, 0.16 * (12 + 2 * len(self.explanation.factors)) + 1.0)
        fig = picture_class()(figsize=(width, height))
        FigureCanvasAgg(fig)
        right = 1.0 - side / width
        bottom, top = 0.45 / height, 1.0 - 0.75 / height
        ax = fig.add_axes((0.2 / width, bottom, right - 0.3 / width, top - bottom))
        ax.set_axis_off()
        ax.set_xlim(-0.6, self.pos["loss"][0] + 0.6)
        # room for a value label above the top node and a bias label below the bottom one
        half = (max(self.slots, 2) - 1) / 2.0
        ax.set_ylim(-half - 0.75, half + 0.8)
        self.ax = ax
        self.fontsize = 7.5 if self.small else 9.0
        self.paint_weights()
        self.paint_fixed_edges()
        if self.explanation is not None:
            self.paint_paths()
        self.paint_nodes()
        self.paint_headers()
        self.paint_text(fig, right)
        return fig

    def _colour(self, v: float) -> str:
        return POSITIVE if v > 0 else (NEGATIVE if v < 0 else NEUTRAL)

    def weight_layers(self) -> list[tuple[int, _Column, _Column]]:
        """(l, source column, target column) for every weight matrix W_l."""
        pairs = []
        for l in range(self.net.num_layers):
            src = next(c for c in self.cols if c.layer == l and c.part in ("x", "h"))
            dst = next(c for c in self.cols if c.layer == l + 1 and c.part in ("k", "h"))
            pairs.append((l, src, dst))
        return pairs

    def paint_weights(self) -> None:
        from matplotlib.collections import LineCollection

        net, ax = self.net, self.ax
        layers = []
        for l, src, dst in self.weight_layers():
            w_slice, _ = net.layer_slices(l)
            n_in = net.sizes[l]
            jj, ii = np.meshgrid(dst.units, src.units, indexing="ij")
            idx = (w_slice.start + jj * n_in + ii).ravel()
            layers.append((l, src, dst, jj.ravel(), ii.ravel(), idx))
        shown = np.concatenate([self.param_numbers(idx) for *_, idx in layers])
        scale = float(np.abs(shown).max()) if shown.size else 1.0
        scale = scale if scale > 0 else 1.0
        for l, src, dst, jj, ii, idx in layers:
            nums = self.param_numbers(idx)
            segs = [((src.x, src.y[int(i)]), (dst.x, dst.y[int(j)])) for j, i in zip(jj, ii)]
            lc = LineCollection(segs, linewidths=0.3 + 3.7 * np.abs(nums) / scale,
                                colors=[self._colour(v) for v in nums], alpha=0.75,
                                zorder=1, gid=f"edges:W{l}")
            ax.add_collection(lc)
            label = (idx.shape[0] <= EDGE_LABEL_LIMIT if self.edge_labels is None
                     else self.edge_labels)
            if label:
                self.label_edges(src, dst, jj, ii, idx, nums)

    def label_edges(self, src: _Column, dst: _Column, jj: np.ndarray, ii: np.ndarray,
                    idx: np.ndarray, nums: np.ndarray) -> None:
        """A number on each edge, staggered along the edges so neighbours do not overlap;
        and each bias beside its k node."""
        n_dst = len(dst.units)
        rank = {int(j): r for r, j in enumerate(dst.units)}
        for j, i, p, v in zip(jj, ii, idx, nums):
            f = 0.3 + 0.4 * (rank[int(j)] + 0.5) / n_dst
            x0, y0 = src.x, src.y[int(i)]
            x1, y1 = dst.x, dst.y[int(j)]
            self.ax.text(x0 + f * (x1 - x0), y0 + f * (y1 - y0), fmt(v), ha="center",
                         va="center", fontsize=self.fontsize - 1.5, color=self._colour(v),
                         gid=f"edge:{self.net.param_name(int(p))}", zorder=4,
                         bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none",
                                   alpha=0.85))
        _, b_slice = self.net.layer_slices(dst.layer - 1)
        for j in dst.units:
            p = b_slice.start + int(j)
            v = self.param_numbers(p)
            self.ax.annotate(f"b {fmt(v)}", (dst.x, dst.y[int(j)]), xytext=(9, -9),
                             textcoords="offset points", ha="left", va="top",
                             fontsize=self.fontsize - 2, color=self._colour(v),
                             gid=f"edge:{self.net.param_name(p)}", zorder=4)

    def paint_fixed_edges(self) -> None:
        """The edges that are not parameters: k → h (the activation), o → y under a softmax
        (every y depends on every o), y → l and t → l."""
        from matplotlib.collections import LineCollection

        segs = []
        for a, b in zip(self.cols, self.cols[1:]):
            if a.part != "k" or b.part != "h":
                continue
            if self.net.output == "softmax" and b.layer == self.net.num_layers:
                segs += [((a.x, a.y[int(i)]), (b.x, b.y[int(j)]))
                         for i in a.units for j in b.units]
            else:
                segs += [((a.x, a.y[int(i)]), (b.x, b.y[int(i)])) for i in a.units]
        lx, ly = self.pos["loss"]
        for c in self.cols[-2:]:
            segs += [((c.x, c.y[int(i)]), (lx, ly)) for i in c.units]
        # thin when there are many (a softmax joins every o to every y)
        lw = 0.8 if len(segs) <= 40 else 0.4
        self.ax.add_collection(LineCollection(segs, linewidths=lw, colors=NEUTRAL, zorder=1,
                                              gid="edges:fixed"))

    def paint_nodes(self) -> None:
        ax, net = self.ax, self.net
        xs, ys, colours, edge = [], [], [], []
        for c in self.cols:
            for i in c.units:
                key = c.key(int(i))
                px, py = self.pos[key]
                v = self.node_number(key)
                xs.append(px)
                ys.append(py)
                if c.part == "t":
                    colours.append("#eeeeee")
                elif v is None or self.show == "values":
                    colours.append("white")
                else:
                    colours.append("#d6e4f5" if v > 0 else ("#f5d9d2" if v < 0 else "white"))
                edge.append("#333333")
                name = node_label(net, c.part, c.layer, int(i))
                ax.text(px, py, name, ha="center", va="center", zorder=6, gid=f"name:{key}",
                        fontsize=self.fontsize - (1.5 if len(name) > 3 else 0))
                if v is not None:
                    text = fmt(v)
                    if c.part == "t" and net.loss == "ce":     # a class index: name its output
                        text += f" ({node_label(net, 'h', net.num_layers, int(v))})"
                    ax.annotate(text, (px, py), xytext=(0, 10.5), textcoords="offset points",
                                ha="center", va="bottom", fontsize=self.fontsize - 0.5,
                                zorder=7, gid=f"node:{key}",
                                color="#222222" if c.part == "t" or self.show == "values"
                                else self._colour(v),
                                bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none",
                                          alpha=0.8))
            if c.hidden and c.part != "k":   # one marker per layer of units
                k_col = [d for d in self.cols if d.part == "k" and d.layer == c.layer]
                gx = (c.x + k_col[0].x) / 2 if k_col else c.x
                ax.text(gx, c.gap_y, f"… {c.hidden} more", ha="center", va="center",
                        fontsize=self.fontsize, style="italic", color="#555555", zorder=6,
                        gid="gap:x" if c.part == "x" else f"gap:{c.layer}",
                        bbox=dict(boxstyle="round,pad=0.2", fc="#f4f4f4", ec="#bbbbbb"))
        lx, ly = self.pos["loss"]
        xs.append(lx)
        ys.append(ly)
        v = self.node_number("loss")
        colours.append("#fff1c9" if v is None or self.show == "values" else
                       ("#d6e4f5" if v > 0 else "#f5d9d2"))
        edge.append("#333333")
        ax.text(lx, ly, "l", ha="center", va="center", fontsize=self.fontsize + 1, zorder=6,
                gid="name:loss")
        if v is not None:
            ax.annotate(fmt(v), (lx, ly), xytext=(0, 12), textcoords="offset points",
                        ha="center", va="bottom", fontsize=self.fontsize, zorder=7, gid="node:loss")
        size = 260 if self.small else 420
        ax.scatter(xs, ys, s=size, c=colours, edgecolors=edge, linewidths=1.0, zorder=5,
                   gid="nodes")

    def paint_headers(self) -> None:
        net, ax = self.net, self.ax
        act = {"sigmoid": "σ", "relu": "relu", "tanh": "tanh", "identity": "id",
               "softmax": "softmax"}
        top = ax.get_xaxis_transform()
        for c in self.cols:
            if c.part == "x":
                text = "input x"
            elif c.part == "k":
                text = "k = W·x + b" if c.layer == 1 else "k = W·h + b"
                if c.layer == net.num_layers:
                    text = "z = V·h + c" if net.num_layers == 2 else text.replace("k", "z", 1)
            elif c.part == "h" and c.layer == net.num_layers:
                head = net.output if net.output != "identity" else None
                text = f"y = {act[head]}(z)" if head else (
                    "y = V·h + c" if net.num_layers == 2 else "y = W·h + b")
                if net.num_layers == 1:
                    text = text.replace("h", "x").replace("V", "W").replace("+ c", "+ b")
            elif c.part == "h":
                text = f"h = {act[net.hidden]}(k)"
            else:
                continue
            ax.text(c.x, 1.0, text, ha="center", va="bottom", fontsize=self.fontsize,
                    color="#444444", gid=f"header:{c.part}{c.layer}", transform=top)
        lx, _ = self.pos["loss"]
        ax.text(lx, 1.0, f"loss ({net.loss})", ha="center", va="bottom",
                fontsize=self.fontsize, color="#444444", gid="header:loss", transform=top)

    def paint_paths(self) -> None:
        """The paths from the explained weight to the loss, exactly as :func:`explain` lists
        them (its node identifiers), one line each under the edges; when there are more than
        explain lists, the edges on some path (:meth:`Explanation.edges`)."""
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        e = self.explanation
        style = dict(color=HIGHLIGHT, linewidth=9 if not self.small else 6, alpha=0.55,
                     solid_capstyle="round", solid_joinstyle="round", zorder=0.5)
        self.drawn_paths = 0
        if e.paths:
            for nodes in e.path_nodes:
                points = [self.where(n) for n in nodes]
                if any(p is None for p in points):
                    continue       # through a unit in the gap
                xs, ys = zip(*points)
                self.ax.add_line(Line2D(xs, ys, gid="path:" + ">".join(nodes), **style))
                self.drawn_paths += 1
        else:
            segs = [(self.where(a), self.where(b)) for a, b in sorted(e.edges())]
            segs = [sg for sg in segs if None not in sg]
            self.ax.add_collection(LineCollection(segs, gid="paths:edges", colors=HIGHLIGHT,
                                                  linewidths=style["linewidth"], alpha=0.55,
                                                  zorder=0.5, capstyle="round"))

    def where(self, node: str) -> tuple[float, float] | None:
        """The position of a node identifier (see :mod:`scalarprop.explain`); None in the gap.
        A weight starts at the unit it multiplies, a bias just below its k."""
        e = self.explanation
        if node == e.weight:
            kind, l, j, i = self.net.param_position(e.index)
            if kind == "W":
                return self.pos.get(f"x[{i}]" if l == 0 else f"h{l}[{i}]")
            k = self.pos.get(f"k{l + 1}[{j}]")
            return None if k is None else (k[0] - 0.35, k[1] - 0.3)
        return self.pos.get(node)

    def paint_text(self, fig: Figure, right: float) -> None:
        net, ex = self.net, self.ex
        sizes = "-".join(map(str, net.sizes))
        what = {"values": "values of the forward pass (slide 43)",
                "gradients": "gradients ∂l/∂· of the backward pass (slide 45)",
                "updates": "gradient descent directions −∂l/∂· (slides 47-53)"}[self.show]
        title = f"{sizes} MLP, {net.hidden} hidden, {net.output} output, {net.loss} loss"
        if ex is not None:
            title += f": {what}, l = {fmt(ex.loss)}"
        else:
            title += ": weights"
        fig.text(0.2 / fig.get_figwidth(), 1 - 0.12 / fig.get_figheight(), title, ha="left",
                 va="top", fontsize=10, gid="title")
        edge_what = {"values": "weight w", "gradients": "∂l/∂w",
                     "updates": "−∂l/∂w (the step w ← w − α·∂l/∂w)"}[self.show]
        legend = (f"edges: {edge_what}, width by size; blue > 0, red < 0"
                  + ("" if self.show == "values" else
                     ("; nodes: ∂l/∂node" if self.show == "gradients" else
                      "; nodes: −∂l/∂node, the way the loss wants each value to move (blue up,"
                      " red down)")))
        if self.explanation is not None:
            legend += f"; yellow: the paths from {self.explanation.symbol} to the loss"
        fig.text(0.2 / fig.get_figwidth(), 0.1 / fig.get_figheight(), legend, ha="left",
                 va="bottom", fontsize=8, color="#444444", gid="legend")
        if self.explanation is not None:
            fig.text(right, 1 - 0.75 / fig.get_figheight(), self.chain_text(), ha="left",
                     va="top", fontsize=8, family="DejaVu Sans Mono", gid="chain",
                     linespacing=1.4)

    def chain_text(self) -> str:
        """Explain's chain of local derivatives, one factor a line, with its checks."""
        import textwrap

        e = self.explanation
        width = 62
        sym = e.symbols.get
        lines = [f"∂l/∂{e.symbol} = {fmt(e.gradient)}   ({e.weight}"
                 + (f", lecture's {e.lecture_name})" if e.lecture_name else ")"), ""]
        if e.branch is None:
            names = [sym(n, n) for n in e.path_nodes[0]]
            # an identity output's z and y are one node, y
            names = [a for a, b in zip(names, [None, *names]) if a != b]
            lines.append("one path: " + " → ".join(names))
        else:
            drawn = (f", {self.drawn_paths} drawn" if e.paths and self.drawn_paths < e.num_paths
                     else "")
            lines.append(f"{e.num_paths} paths{drawn}; they split at {sym(e.branch, e.branch)}")
        lines.append("")
        rows = [(f.symbol, f.formula, fmt(f.value)) for f in e.factors]
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        for a, b, c in rows:
            if w0 + w1 + 14 <= width:
                lines.append(f"{a:<{w0}}  {b:<{w1}}  {c}")
            else:                  # a long (accumulated) formula on a line of its own
                lines += [f"{a:<{w0}}  {c}", f"  = {b}"]
        lines.append(f"{'product':<{w0}}  {'':<{w1 if w0 + w1 + 14 <= width else 0}}  "
                     f"{fmt(e.product)}".rstrip())
        lines.append("")
        checks = [f"{name} {fmt(v)}" for name, v in e.engines.items()]
        checks.append(f"finite difference {fmt(e.finite_difference)}")
        lines += textwrap.wrap("checked: " + ", ".join(checks), width)
        lines.append("")
        if e.reading:
            lines += textwrap.wrap(e.reading[-1], width)
        return "\n".join(lines)


def columns(net: MLP, X: np.ndarray | None, T: np.ndarray | None, nodes: dict[str, Any] | None,
            max_units: int = MAX_UNITS, index: int | None = None) -> tuple[list[Any], int]:
    """The columns of units :func:`draw` lays out for the checked example ``(X, T)`` (a batch
    of one; None for both without one) and the engine's ``nodes`` of it: the same choice of
    units (the strongest, with a gap) and the same positions, for a page that paints the
    network itself (:mod:`scalarprop.plot.page`); the units of parameter ``index`` are
    kept. Returns the columns (``part``, ``layer``,
    ``x``, ``units``, ``hidden``, ``y``, ``gap_y``) and the tallest column's slots."""
    ex = None if X is None else _example(net, X, T, nodes)
    return _layout(net, ex, index, int(max_units))
