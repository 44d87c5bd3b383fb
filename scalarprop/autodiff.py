"""The autodiff engine's public face: :mod:`scalarprop.engines.autodiff` and, beside it,
:func:`draw_graph` from :mod:`scalarprop.plot.graph` (the engine itself never imports plot)::

    from scalarprop import autodiff as ad
    a = ad.TensorNode(2.0)
    f = 2 / (-a).exp().sin()
    f.backward(); a.grad
    ad.draw_graph(f)
"""

from .engines.autodiff import *  # noqa: F403
from .engines.autodiff import __all__ as engine_names
from .plot.graph import draw_graph

__all__ = [*engine_names, "draw_graph"]
