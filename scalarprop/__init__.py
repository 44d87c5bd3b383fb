"""scalarprop: backpropagation you can run, read and measure.

The same multilayer perceptron three ways (scalar loops in Numba, vectorized numpy, and
autodiff), held to each other and to finite differences. The README is the tour.
"""

from .data import load_arrays, load_digits, load_synth
from .draw import draw
from .explain import Explanation, explain
from .gradcheck import EngineComparison, GradientCheck, check_gradients, compare_engines
from .network import MLP
from .train import History, TrainingDivergedError, train

__all__ = [
    "draw",
    "explain",
    "Explanation",
    "MLP",
    "check_gradients",
    "compare_engines",
    "GradientCheck",
    "EngineComparison",
    "train",
    "History",
    "TrainingDivergedError",
    "load_synth",
    "load_digits",
    "load_arrays",
]
__version__ = "0.1.0"
