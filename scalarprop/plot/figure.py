"""What every picture shares: a Figure that shows itself in a notebook, how a number is printed
on it, and the colours of signs (blue > 0, red < 0, as on the slides' update arrows).

This module needs matplotlib (the ``plot`` extra); :mod:`.network` and :mod:`.graph` import it
only when they draw, so ``import scalarprop`` does not.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

POSITIVE, NEGATIVE, NEUTRAL = "#1f5fbf", "#cc3311", "#9a9a9a"
#: the paths from an explained weight to the loss
HIGHLIGHT = "#ffbf00"


class Picture(Figure):
    """A :class:`matplotlib.figure.Figure` on the Agg canvas (no display, no pyplot state) that
    shows itself in a notebook (``_repr_png_``), also where pyplot's inline backend never
    ran."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


def fmt(v: float) -> str:
    """A number as a picture prints it: three significant digits (``-3.96``, ``0.99``)."""
    s = f"{float(v):.3g}"
    return "0" if s in ("-0", "0") else s


def colour(v: float) -> str:
    """The colour of a number's sign."""
    if v > 0:
        return POSITIVE
    return NEGATIVE if v < 0 else NEUTRAL
