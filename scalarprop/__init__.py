"""scalarprop: backpropagation you can run, read and measure.

The same multilayer perceptron three ways (scalar loops in Numba, vectorized numpy, and
autodiff), held to each other and to finite differences. The README is the tour; the
layout follows the lecture:

- ``network``, ``functions`` (part 1), ``validate``, ``memory``, ``data``, ``examples``;
- ``engines/``: ``scalar``, ``scalar_fast``, ``scalar_parallel`` (part 2), ``vectorized`` (part 3),
  ``autodiff/`` (part 4), behind one :class:`~scalarprop.engines.Engine` protocol;
- the tools: ``checks/`` (finite differences), ``explain/``, ``plot/``, ``train``, ``bench/``;
- ``cli`` and ``commands/``.
"""

import sys

from . import autodiff, data
from .checks import testing
from .checks.comparison import EngineComparison, compare_engines
from .checks.gradcheck import GradientCheck, check_gradients
from .checks.per_example import ExampleCheck, check_examples
from .compiled import TracingError, Value, compile, dot, where
from .data import load_arrays, load_digits, load_synth
from .engines import scalar, scalar_fast, vectorized
from .explain import Explanation, explain
from .network import MLP, NetworkBusyError
from .plot.network import draw
from .plot.page import explore
from .train import History, TrainingDivergedError, TrainingInterrupted, train

# the engines' and the oracle's short addresses, used by the README and users' code:
# ``import scalarprop.testing`` and ``from scalarprop.scalar import ...`` keep working
for _module in (scalar, scalar_fast, vectorized, testing):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module

__all__ = [
    "draw",
    "explore",
    "explain",
    "Explanation",
    "MLP",
    "check_gradients",
    "check_examples",
    "ExampleCheck",
    "compare_engines",
    "GradientCheck",
    "EngineComparison",
    "train",
    "History",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "NetworkBusyError",
    "load_synth",
    "load_digits",
    "load_arrays",
    "scalar",
    "vectorized",
    "autodiff",
    "testing",
    "data",
    "Value",
    "compile",
    "TracingError",
    "dot",
    "where",
]
__version__ = "0.1.0"
