"""The explorer: one self-contained HTML page where you click a weight and see its derivation.

:func:`explore` draws the network as :func:`scalarprop.draw` does (slides 41-53: inputs, each
unit's ``k`` and ``h``, the outputs, the targets and the loss; the same choice of units for
wide layers), and puts beside it, for the weight or node you click or hover, the derivation
:func:`scalarprop.explain` prints: the chain of local derivatives written symbolically and with
the numbers, every path and their sum (or the accumulated form), the engines' and the finite
difference's values, and the gradient-descent reading. A slider steps through ``steps``
recorded steps of stochastic gradient descent (:mod:`scalarprop.plot.record`), a picker
switches between a handful of examples, and the derivation follows both.

What the page holds, and why it stays small: the parameters of the drawn edges at every step,
and every drawn unit's value and ``∂l/∂node`` for every (step, example), as raw float64 in
base64. The derivation's numbers are worked out in the page from those node values, by the
rules of :mod:`scalarprop.explain` (``derive.js`` and ``explain.js`` follow it rule by rule);
the engines' and the finite difference's values are recorded every ``check_every`` steps.
The page checks itself when it opens: its derivation of the first selected weight at step 0
must read exactly as ``Explanation.to_dict()["text"]`` does, or it logs an error.

The page's hooks (tests and other programs rely on them): every weight edge has an SVG element
with ``data-param="W0[1,0]"``, drawn on the edge above every line and node (its label, or a
small handle where the weights are too many to label) so that a click at its centre selects
that weight; the edge's lines carry ``data-hit="W0[1,0]"``. Every bias label has
``data-param="b0[1]"``; every
node has ``data-node="k1[2]"`` (explain's node identifiers); the derivation panel is
``id="derivation"``; the step slider ``<input type="range" id="step">``; the example picker
``id="example"``; the values/gradients/updates toggle ``id="show"``.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from importlib import resources
from typing import Any

import numpy as np

from ..checks.gradcheck import at_kink
from ..engines import ENGINE_NAMES, get_engine
from ..explain import explain, lecture_name_of, node_symbol, parse_weight
from ..files import check_writable, write_text
from ..network import MLP
from ..validate import check_batch, check_params
from .layout import MAX_UNITS, columns
from .network import SHOWS
from .record import Recording, record

#: more drawn weight edges than this is refused (the page would be slow and unreadable)
MAX_EDGES = 2000
#: an output layer up to this wide is held whole, so every path through it can be derived
WHOLE_OUTPUT = 64
#: the most SGD steps a page records (it holds every step's parameters and node values)
MAX_STEPS = 10_000
#: the checks (engines, finite difference) kept: at most about this many numbers of each kind
CHECK_BUDGET = 20_000


class Explorer:
    """The page :func:`explore` built. ``html`` is the whole page; ``size`` its length in bytes
    (UTF-8); :meth:`save` writes it; in a notebook it shows itself (``_repr_html_``).
    ``recording`` holds the SGD run and the numbers the page shows; ``params`` the names of the
    parameters it holds, ``check_every`` how often it holds the checks."""

    def __init__(self, html_text: str, recording: Recording, params: list[str],
                 check_every: int) -> None:
        self.html = html_text
        self.recording = recording
        self.params = params
        self.check_every = check_every

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8"))

    def save(self, path: str | os.PathLike) -> str:
        """Write the page to ``path`` (a ``.html`` file), atomically: a failure leaves any
        previous page there as it was. Returns the path."""
        path = check_out(path)
        try:
            write_text(path, self.html)
        except OSError as exc:
            raise ValueError(f"{path!r}: cannot write the page ({exc})") from None
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script and style to itself inside the notebook
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                'style="width:100%;height:820px;border:1px solid #ddd" '
                'title="scalarprop explorer"></iframe>')

    def __repr__(self) -> str:
        return (f"Explorer({len(self.params)} parameters, "
                f"{self.recording.params.shape[0] - 1} steps, {self.size / 1024:.0f} KB)")


def check_out(path: Any) -> str:
    """The output path as a string, if it names an ``.html`` file; else a ValueError."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"out={path!r}: expected a file name ending in .html")
    path = os.fspath(path)
    if not str(path).lower().endswith(".html"):
        raise ValueError(f"out={path!r}: the explorer writes an HTML page; expected a file name "
                         "ending in .html")
    return str(path)


def _positive_int(name: str, v: Any, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError(f"{name}={v!r}: expected an integer >= {low}")
    return int(v)


def explore(net: MLP, X: Any, T: Any, out: str | os.PathLike | None = None, *,
            examples: int = 5, steps: int = 50, lr: float = 0.05,
            weight: str | int | None = None, show: str = "values", engine: str = "scalar",
            max_units: int = MAX_UNITS, seed: int = 0, eps: float = 1e-6) -> Explorer:
    """Build the explorer page of ``net`` on the data ``(X, T)``.

    Args:
        net: the network (not changed: the SGD run trains a copy).
        X, T: the data, as :func:`scalarprop.train` takes it. The first ``examples`` rows are
            the page's examples; SGD runs over all of them, one example per step.
        out: write the page to this ``.html`` file too.
        steps: how many SGD steps to record (the slider runs 0..steps).
        lr: the learning rate α of ``θ ← θ − α·∇θ l``.
        weight: the parameter selected when the page opens (default: the first drawn one;
            the lecture's ``w12`` for the lecture's network); names as :func:`explain` takes.
        show: ``"values"``, ``"gradients"`` or ``"updates"`` first (the page toggles).
        engine: the engine that computes the steps and the nodes.
        max_units: layers wider than this are drawn with a gap, as :func:`draw` does.
        seed: the order of the SGD steps.
        eps: the finite difference's step.

    Raises:
        ValueError: bad data, options or output path; more than ``MAX_EDGES`` edges to draw
            (lower ``max_units``); a diverging SGD run (lower ``lr``).
    """
    if out is not None:
        # the page is written last: a place it cannot be written is refused before the work
        check_writable(check_out(out), "out", ".html")
    if not isinstance(net, MLP):
        raise ValueError(f"net: expected a scalarprop MLP, got {type(net).__name__}")
    check_params(net)
    Xc, Tc = check_batch(net, X, T)
    n_shown = min(_positive_int("examples", examples, 1), Xc.shape[0])
    steps = _positive_int("steps", steps, 0)
    if steps > MAX_STEPS:
        raise ValueError(f"steps={steps}: at most {MAX_STEPS}; the page holds the numbers of "
                         "every step")
    max_units = _positive_int("max_units", max_units, 2)
    seed = _positive_int("seed", seed, 0)
    for name, value in (("lr", lr), ("eps", eps)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name}={value!r}: expected a positive finite number")
    if show not in SHOWS:
        raise ValueError(f"show={show!r}: expected one of {list(SHOWS)}")
    if engine not in ENGINE_NAMES:
        raise ValueError(f"engine={engine!r}: expected one of {list(ENGINE_NAMES)}")
    index = None if weight is None else parse_weight(net, weight)
    first = get_engine("scalar").nodes(net, Xc[:1], Tc[:1])
    cols, slots = columns(net, Xc[:1], Tc[:1], first, max_units, index)
    units = _units(net, cols)
    drawn = sum(len(units[l]) * len(units[l + 1]) for l in range(net.num_layers))
    if drawn > MAX_EDGES:
        raise ValueError(f"max_units={max_units}: {drawn} weight edges to draw, more than "
                         f"{MAX_EDGES}; lower max_units (e.g. max_units=16) so that wide "
                         "layers are drawn with a gap")
    held = _held_units(net, units)
    params = _held_params(net, held)
    if index is None:           # the lecture's w12 where there is one, else the first drawn
        w12 = net.param_index("W0[1,0]") if net.sizes[1] > 1 else -1
        index = w12 if w12 in params else params[0]
    if index not in params:
        raise ValueError(f"weight={weight!r}: not drawn (its units are in a gap); pick a drawn "
                         "weight or raise max_units")
    shown = np.arange(n_shown)
    per_step = n_shown * len(params)
    check_every = 1
    while (steps // check_every + 1) * per_step > CHECK_BUDGET and check_every < max(steps, 1):
        check_every += 1
    rec = record(net, Xc, Tc, shown, steps=steps, lr=float(lr), seed=int(seed), engine=engine,
                 check_params=np.array(params), check_every=check_every, eps=float(eps))
    data = _data(net, Xc, Tc, shown, rec, cols, held, params, index, show, eps, engine)
    page = Explorer(render(data), rec, [net.param_name(p) for p in params], check_every)
    if out is not None:
        page.save(out)
    return page


def _units(net: MLP, cols: list[Any]) -> list[list[int]]:
    """The drawn units of every layer of units (0 = the inputs), from draw's columns."""
    units: list[list[int]] = [[] for _ in net.sizes]
    for c in cols:
        if c.part in ("x", "h"):
            units[c.layer] = [int(i) for i in c.units]
    return units


def _held_units(net: MLP, units: list[list[int]]) -> list[list[int]]:
    """The units whose numbers the page holds: the drawn ones, and a whole output layer up to
    ``WHOLE_OUTPUT`` wide (every path of a weight ends in some output)."""
    held = [list(u) for u in units]
    if net.sizes[-1] <= WHOLE_OUTPUT:
        held[-1] = list(range(net.sizes[-1]))
    return held


def _held_params(net: MLP, held: list[list[int]]) -> list[int]:
    """Flat indices of the weights and biases between held units, layer by layer."""
    out = []
    for l in range(net.num_layers):
        w, b = net.layer_slices(l)
        out += [w.start + j * net.sizes[l] + i for j in held[l + 1] for i in held[l]]
        out += [b.start + j for j in held[l + 1]]
    return out


def _b64(a: np.ndarray, dtype: str = "<f8") -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _data(net: MLP, X: np.ndarray, T: np.ndarray, shown: np.ndarray, rec: Recording,
          cols: list[Any], held: list[list[int]], params: list[int], index: int, show: str,
          eps: float, engine: str) -> dict[str, Any]:
    """Everything the page needs, JSON-ready (arrays as base64 float64)."""
    L = net.num_layers
    nodes: dict[str, Any] = {}
    for l in range(1, L + 1):
        for part in ("k", "h"):
            if part == "k" and l == L and net.output == "identity":
                continue                                 # y = z: the page reads h{L}
            for key in (f"{part}{l}", f"{part}{l}_grad"):
                nodes[key] = _b64(rec.nodes[key][:, :, held[l]])
    nodes["x_grad"] = _b64(rec.nodes["x_grad"][:, :, held[0]])
    reference = []
    ref_net = net.copy()
    ref_net.params[:] = rec.params[0]
    for e in shown:
        reference.append(explain(ref_net, X[e], T[e], int(index), eps=eps).to_dict())
    # explain's display symbols: of the units the page holds, and of its parameters
    held_ids = {f"x[{j}]" for j in held[0]} | {f"{part}{l}[{j}]" for l in range(1, L + 1)
                                                for j in held[l] for part in "kh"}
    symbols = {n: s for n, s in reference[0]["symbols"].items() if n in held_ids}
    names = [net.param_name(p) for p in params]
    symbols.update({n: node_symbol(net, n) for n in names})
    c = rec.checks
    kinks = _kinks(net, rec)
    return {
        "net": {"sizes": list(net.sizes), "hidden": net.hidden, "output": net.output,
                "loss": net.loss,
                "network": (f"network {'-'.join(map(str, net.sizes))}, hidden {net.hidden}, "
                            f"output {net.output}, loss {net.loss}")},
        "steps": int(rec.params.shape[0] - 1), "lr": rec.lr, "engine": engine,
        "order": [int(i) for i in rec.order], "train_loss": _b64(rec.train_loss),
        # of an input only what the page shows: the first 8 values (the derivation's header)
        # and the drawn units
        "examples": [{"row": int(e), "n": int(X.shape[1]),
                      "x": {int(i): float(X[e, i]) for i in sorted(set(range(min(8, X.shape[1])))
                                                                     | set(held[0]))},
                      "t": T[e].tolist()} for e in shown],
        "cols": [{"part": col.part, "layer": col.layer, "x": col.x,
                  "units": [int(i) for i in col.units], "y": [col.y[int(i)] for i in col.units],
                  "hidden": int(col.hidden), "gap_y": col.gap_y} for col in cols],
        "held": held, "params": names,
        "lecture": {n: lecture_name_of(net, n) for n in names} if L == 2 else {},
        "P": _b64(rec.params[:, params]), "nodes": nodes, "loss": _b64(rec.loss),
        "symbols": symbols,
        "checks": {"every": int(rec.check_steps[1] - rec.check_steps[0])
                   if len(rec.check_steps) > 1 else 1, "eps": eps,
                   # the scalar engine's ∂l/∂w as a difference from ∂l/∂k·(what w
                   # multiplies), which the page works out from the nodes (0 where the engine
                   # computes just that); the others as differences from the scalar engine's
                   "scalar": _packed(c["scalar"], _node_grads(net, rec, held, params)),
                   "vectorized": _packed(c["vectorized"], c["scalar"]),
                   "fd": _packed(c["fd"], c["scalar"]), "kinks": kinks},
        "complete": all(len(held[l]) == net.sizes[l] for l in range(1, L + 1)),
        "reference": {"weight": net.param_name(index), "texts": [d["text"] for d in reference]},
        "initial": {"weight": net.param_name(index), "show": show},
    }


def _packed(values: np.ndarray, base: np.ndarray) -> dict[str, Any]:
    """``values`` as float32 differences from ``base`` (which the page adds them to), plus,
    as ``[flat index, value]``, every value that would not print as explain prints it (12
    digits, and its difference from ``base`` to 2): the engines part at a kink, say."""
    diff = (values - base).astype("<f4")
    back = base + diff.astype(float)
    exact = []
    for i in np.flatnonzero(back != values):
        v, b, w = float(values.flat[i]), float(back.flat[i]), float(base.flat[i])
        if f"{v:.12g}" != f"{b:.12g}" or f"{abs(v - w):.2g}" != f"{abs(b - w):.2g}":
            exact.append([int(i), v])
    return {"diff": _b64(diff, "<f4"), "exact": exact}


def _node_grads(net: MLP, rec: Recording, held: list[list[int]], params: list[int]
                ) -> np.ndarray:
    """``∂l/∂k_j · a_i`` (``∂l/∂k_j`` for a bias) at the check steps, per example and held
    parameter: the gradient as the page computes it from the nodes (slide 46)."""
    steps = rec.check_steps
    out = np.empty((len(steps), rec.loss.shape[1], len(params)))
    for p_col, p in enumerate(params):
        kind, l, j, i = net.param_position(p)
        kg = rec.nodes[f"k{l + 1}_grad"][steps, :, j]
        if kind == "b":
            out[:, :, p_col] = kg
        else:
            src = (rec.inputs[None, :, i] if l == 0 else rec.nodes[f"h{l}"][steps, :, i])
            out[:, :, p_col] = kg * src
    return out


def _kinks(net: MLP, rec: Recording) -> list[list[float]]:
    """Where a check sits at a kink (relu, absolute, hinge), as explain reports it:
    ``[check, example, param, backward, forward]`` with the one-sided quotients."""
    c = rec.checks
    out: list[list[float]] = []
    for ci, s in enumerate(rec.check_steps):
        run = net.copy()
        run.params[:] = rec.params[s]
        for e in range(c["scalar"].shape[1]):
            kinked = at_kink(run, c["scalar"][ci, e], c["forward"][ci, e], c["backward"][ci, e],
                             atol=1e-5, rtol=1e-3)
            out += [[ci, e, int(p), float(c["backward"][ci, e, p]),
                     float(c["forward"][ci, e, p])] for p in np.flatnonzero(kinked)]
    return out


def render(data: dict[str, Any]) -> str:
    """The page: the template with its style, script and data inlined (no network needed)."""
    files = resources.files("scalarprop.plot")
    css = (files / "page.css").read_text(encoding="utf-8")
    # derive.js and explain.js: explain's rules and text; page.js: the numbers and the
    # picture; app.js: the controls
    js = "\n".join((files / name).read_text(encoding="utf-8")
                   for name in ("derive.js", "explain.js", "page.js", "app.js"))
    # "</" would end the script element early; JSON allows "<\/" for it
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    sizes = "-".join(map(str, data["net"]["sizes"]))
    return TEMPLATE.format(title=html.escape(f"scalarprop explorer: {sizes}"), css=css,
                           data=payload, js=js)


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style></head>
<body>
<header><h1>{title}</h1><p id="summary"></p></header>
<div id="controls">
 <label>example <select id="example"></select></label>
 <label>show <select id="show"><option value="values">values</option>
  <option value="gradients">gradients ∂l/∂·</option>
  <option value="updates">update directions −∂l/∂·</option></select></label>
 <label class="slider">step <input type="range" id="step" min="0" max="0" value="0">
  <output id="stepout">0</output></label>
</div>
<main>
 <section id="netbox"><svg id="net" role="img" aria-label="the network"></svg>
  <p id="legend"></p></section>
 <section id="side">
  <div id="charts"><svg id="losschart" class="chart"></svg><svg id="wchart" class="chart"></svg>
  </div>
  <div id="derivation" aria-live="polite"></div>
 </section>
</main>
<script type="application/json" id="data">{data}</script>
<script>{js}</script>
</body></html>
"""
