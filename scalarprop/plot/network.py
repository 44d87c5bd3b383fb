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
units (:mod:`.layout` says which); :mod:`.painter` puts it all on a :class:`.figure.Picture`.

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

from typing import TYPE_CHECKING, Any

import numpy as np

from ..engines import get_engine
from ..explain import explain, parse_weight
from ..network import MLP
from ..validate import check_T, check_X
from .layout import MAX_UNITS, columns, example, layout

if TYPE_CHECKING:
    from .figure import Picture

__all__ = ["MAX_UNITS", "SHOWS", "columns", "draw"]

SHOWS = ("values", "gradients", "updates")


def draw(net: MLP, x: Any = None, t: Any = None, weight: str | int | None = None,
         show: str = "values", *, engine: str = "scalar", max_units: int = MAX_UNITS,
         edge_labels: bool | None = None) -> Picture:
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
            ``painter.EDGE_LABEL_LIMIT`` (9) drawn edges.

    Returns:
        a :class:`matplotlib.figure.Figure` on the Agg canvas (no display, no pyplot state):
        ``fig.savefig("net.png")`` or ``.svg``; in a notebook it shows itself.
    """
    Xc, Tc, index = _check_args(net, x, t, weight, show, max_units)
    ex = explanation = None
    if Xc is not None:
        ex = example(net, Xc, Tc, get_engine(engine).nodes(net, Xc, Tc))
        if index is not None:
            explanation = explain(net, Xc, Tc, index)
    cols, slots = layout(net, ex, index, int(max_units))
    from .painter import Painter  # matplotlib: only when drawing

    return Painter(net, ex, show, cols, slots, explanation, edge_labels).paint()


def _check_args(net: MLP, x: Any, t: Any, weight: Any, show: str, max_units: Any
                ) -> tuple[np.ndarray | None, np.ndarray | None, int | None]:
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
