"""scalarprop: backpropagation you can run, read and measure.

The same multilayer perceptron three ways (scalar loops in Numba, vectorized numpy, and
autodiff), held to each other and to finite differences. See ``DESIGN`` in the README.
"""

from .gradcheck import EngineComparison, GradientCheck, check_gradients, compare_engines
from .network import MLP

__all__ = [
    "MLP",
    "check_gradients",
    "compare_engines",
    "GradientCheck",
    "EngineComparison",
]
__version__ = "0.1.0"
