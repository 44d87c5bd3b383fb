"""The gradient oracle for any function: finite differences that know their own error.

The lecture checks backpropagation against the numeric estimate of slide 39. This package
does it for any ``f``, and says how far off the numeric estimate itself may be:

* :func:`numerical_gradient`, :func:`numerical_jacobian` (central, forward, Richardson, or
  the complex step :func:`complex_step_gradient`); :func:`gradient_estimate` returns the
  numeric gradient with its estimated error per element (:mod:`.differences`);
* :func:`assert_gradients_close`, :func:`assert_vjp_close`: by default each element is held
  to that estimate (``tolerance="auto"``); ``fast=True`` checks a few random directions and
  narrows a disagreement down to the element;
* :func:`assert_hvp_close`, :func:`numerical_hessian`, :func:`assert_per_example_gradients_close`
  (:mod:`.second_order`);
* :mod:`.strategies`: hypothesis strategies for property tests of your own backprop (needs
  the optional ``hypothesis``: ``pip install scalarprop[test]``).

Every public function validates its arguments with a ``ValueError`` that names the argument,
and never modifies ``x``: ``f`` is evaluated on a private copy.
"""

from .arguments import METHODS, GradientMismatchError, NotComplexSafeError
from .asserts import assert_gradients_close, assert_vjp_close
from .complex_step import complex_step_gradient
from .differences import (
    STEP,
    STEP_AUTO,
    Estimate,
    gradient_estimate,
    numerical_gradient,
    numerical_jacobian,
)
from .directional import DirectionalCheck
from .report import FACTOR
from .second_order import (
    assert_hvp_close,
    assert_per_example_gradients_close,
    numerical_hessian,
)

__all__ = [
    "METHODS",
    "STEP",
    "STEP_AUTO",
    "FACTOR",
    "Estimate",
    "DirectionalCheck",
    "GradientMismatchError",
    "NotComplexSafeError",
    "assert_gradients_close",
    "assert_vjp_close",
    "assert_hvp_close",
    "assert_per_example_gradients_close",
    "complex_step_gradient",
    "gradient_estimate",
    "numerical_gradient",
    "numerical_hessian",
    "numerical_jacobian",
]
