"""Painting a drawn network (see :mod:`.network` for what the picture shows): the weights as
edges, the units as nodes with their numbers, the headers, the highlighted paths and the chain
of local derivatives beside them."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from ..explain import Explanation, node_symbol
from ..network import MLP
from .figure import HIGHLIGHT, NEUTRAL, Picture, colour, fmt
from .layout import Column, Example

#: a layer's edges carry labels when it has at most this many drawn edges
EDGE_LABEL_LIMIT = 9
#: the chain beside the picture: characters per line
CHAIN_WIDTH = 62
ACTIVATION_NAMES = {"sigmoid": "σ", "relu": "relu", "tanh": "tanh", "identity": "id",
                    "softmax": "softmax"}


def node_label(net: MLP, part: str, layer: int, i: int) -> str:
    """A node's name as :mod:`scalarprop.explain` writes it (one-based, as on the slides):
    ``x₁``, ``k₂``, ``h₂``, ``y``; with more than one hidden layer the layer as a superscript
    (``h⁽²⁾₃``); ``z`` for the output's logits under a sigmoid or softmax output (the only
    outputs drawn with a column of logits). The target is ``t``, ``t₂`` with several outputs."""
    if part in ("x", "t"):
        return node_symbol(net, f"{part}[{i}]")
    return node_symbol(net, f"{part}{layer}[{i}]")


def header(net: MLP, part: str, layer: int) -> str | None:
    """The formula above a column: ``k = W·x + b``, ``h = σ(k)``, ``y = V·h + c``, ..."""
    L = net.num_layers

    def linear(name: str) -> str:          # the weights into layer ``layer``
        if L == 2 and layer == 2:
            return f"{name} = V·h + c"
        return f"{name} = W·{'x' if layer == 1 else 'h'} + b"

    if part == "x":
        return "input x"
    if part == "k":
        return linear("z" if layer == L else "k")
    if part == "h" and layer == L:
        if net.output == "identity":
            return linear("y")
        return f"y = {ACTIVATION_NAMES[net.output]}(z)"
    if part == "h":
        return f"h = {ACTIVATION_NAMES[net.hidden]}(k)"
    return None


class Painter:
    """Puts the columns, edges and labels of one drawing on a :class:`Picture`."""

    def __init__(self, net: MLP, ex: Example | None, show: str, cols: list[Column],
                 slots: int, explanation: Explanation | None,
                 edge_labels: bool | None) -> None:
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
        self.fontsize = 7.5 if self.small else 9.0
        # the listed paths that can be drawn (a path through a unit in the gap cannot)
        self.drawn_paths: list[tuple[str, ...]] = []
        if explanation is not None:
            self.drawn_paths = [p for p in explanation.path_nodes
                                if all(self.where(n) is not None for n in p)]
        # sizes in inches: a column of nodes every 0.42 in, margins for title and legend
        span = self.pos["loss"][0] + 1.2
        side = 4.8 if explanation is not None else 0.0
        width = 1.2 * span + 0.4 + side
        height = max(3.2, 0.42 * max(slots, 2) + 1.6)
        if explanation is not None:          # room for the chain: about 12 lines + factors
            height = max(height, 0.16 * (12 + 2 * len(explanation.factors)) + 1.0)
        self.fig = Picture(figsize=(width, height))
        self.right = 1.0 - side / width
        bottom, top = 0.45 / height, 1.0 - 0.75 / height
        self.ax = self.fig.add_axes((0.2 / width, bottom, self.right - 0.3 / width,
                                     top - bottom))
        self.ax.set_axis_off()
        self.ax.set_xlim(-0.6, self.pos["loss"][0] + 0.6)
        # room for a value label above the top node and a bias label below the bottom one
        half = (max(slots, 2) - 1) / 2.0
        self.ax.set_ylim(-half - 0.75, half + 0.8)

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

    def paint(self) -> Picture:
        self.paint_weights()
        self.paint_fixed_edges()
        if self.explanation is not None:
            self.paint_paths()
        self.paint_nodes()
        self.paint_headers()
        self.paint_text()
        return self.fig

    def weight_layers(self) -> list[tuple[int, Column, Column]]:
        """(l, source column, target column) for every weight matrix W_l."""
        pairs = []
        for l in range(self.net.num_layers):
            src = next(c for c in self.cols if c.layer == l and c.part in ("x", "h"))
            dst = next(c for c in self.cols if c.layer == l + 1 and c.part in ("k", "h"))
            pairs.append((l, src, dst))
        return pairs

    def paint_weights(self) -> None:
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
                                colors=[colour(v) for v in nums], alpha=0.75,
                                zorder=1, gid=f"edges:W{l}")
            ax.add_collection(lc)
            label = (idx.shape[0] <= EDGE_LABEL_LIMIT if self.edge_labels is None
                     else self.edge_labels)
            if label:
                self.label_edges(src, dst, jj, ii, idx, nums)

    def label_edges(self, src: Column, dst: Column, jj: np.ndarray, ii: np.ndarray,
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
                         va="center", fontsize=self.fontsize - 1.5, color=colour(v),
                         gid=f"edge:{self.net.param_name(int(p))}", zorder=4,
                         bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none",
                                   alpha=0.85))
        _, b_slice = self.net.layer_slices(dst.layer - 1)
        for j in dst.units:
            p = b_slice.start + int(j)
            v = self.param_numbers(p)
            self.ax.annotate(f"b {fmt(v)}", (dst.x, dst.y[int(j)]), xytext=(9, -9),
                             textcoords="offset points", ha="left", va="top",
                             fontsize=self.fontsize - 2, color=colour(v),
                             gid=f"edge:{self.net.param_name(p)}", zorder=4)

    def paint_fixed_edges(self) -> None:
        """The edges that are not parameters: k → h (the activation), o → y under a softmax
        (every y depends on every o), y → l and t → l."""
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
                                else colour(v),
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
        top = self.ax.get_xaxis_transform()
        for c in self.cols:
            text = header(self.net, c.part, c.layer)
            if text is not None:
                self.ax.text(c.x, 1.0, text, ha="center", va="bottom", fontsize=self.fontsize,
                             color="#444444", gid=f"header:{c.part}{c.layer}", transform=top)
        lx, _ = self.pos["loss"]
        self.ax.text(lx, 1.0, f"loss ({self.net.loss})", ha="center", va="bottom",
                     fontsize=self.fontsize, color="#444444", gid="header:loss", transform=top)

    def paint_paths(self) -> None:
        """The paths from the explained weight to the loss, exactly as :func:`explain` lists
        them (its node identifiers), one line each under the edges; when there are more than
        explain lists, the edges on some path (:meth:`Explanation.edges`)."""
        e = self.explanation
        assert e is not None
        width = 9 if not self.small else 6
        if e.paths:
            for nodes in self.drawn_paths:
                xs, ys = zip(*[self.where(n) for n in nodes])
                self.ax.add_line(Line2D(xs, ys, gid="path:" + ">".join(nodes), color=HIGHLIGHT,
                                        linewidth=width, alpha=0.55, solid_capstyle="round",
                                        solid_joinstyle="round", zorder=0.5))
        else:
            segs = [(self.where(a), self.where(b)) for a, b in sorted(e.edges())]
            segs = [sg for sg in segs if None not in sg]
            self.ax.add_collection(LineCollection(segs, gid="paths:edges", colors=HIGHLIGHT,
                                                  linewidths=width, alpha=0.55, zorder=0.5,
                                                  capstyle="round"))

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

    def paint_text(self) -> None:
        net, ex, fig, right = self.net, self.ex, self.fig, self.right
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
        e = self.explanation
        assert e is not None
        width = CHAIN_WIDTH
        sym = e.symbols.get
        lines = [f"∂l/∂{e.symbol} = {fmt(e.gradient)}   ({e.weight}"
                 + (f", lecture's {e.lecture_name})" if e.lecture_name else ")"), ""]
        if e.branch is None:
            names: list[str] = []
            for node in e.path_nodes[0]:
                name = sym(node, node)
                if not names or names[-1] != name:     # an identity output's z is y
                    names.append(name)
            lines.append("one path: " + " → ".join(names))
        else:
            drawn = (f", {len(self.drawn_paths)} drawn"
                     if e.paths and len(self.drawn_paths) < e.num_paths else "")
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
