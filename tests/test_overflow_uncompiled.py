"""The scalar kernels give the same numbers compiled and uncompiled, also where ``e^x``
overflows: compiled, ``math.exp`` gives inf there; plain Python raises OverflowError unless
the kernel asks :func:`~scalarprop.functions.exp_or_inf`. Mutation testing runs the kernels
uncompiled (``NUMBA_DISABLE_JIT=1``), so it relies on this."""

import math

import numba
import numpy as np
import pytest
from cases import make_case, scalar_uncompiled
from numba import njit

from scalarprop import scalar
from scalarprop.functions import EXP_MAX, exp_or_inf


@njit
def compiled_exp(x):
    return math.exp(x)


def python_exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


# around the largest finite e^x, the smallest and a spread between
EDGES = [EXP_MAX, np.nextafter(EXP_MAX, np.inf), np.nextafter(EXP_MAX, -np.inf), 710.0,
         1400.0, -745.2, -1400.0, 0.0, -0.0, 1e-300, np.inf, -np.inf]
XS = np.concatenate([EDGES, np.random.default_rng(0).uniform(-750.0, 750.0, 200)])


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="compares compiled with uncompiled")
def test_exp_or_inf_is_compiled_math_exp_bit_for_bit():
    for x in XS:
        want = compiled_exp(x)
        assert exp_or_inf(x) == want, x
        assert exp_or_inf.py_func(x) == want, x
        assert python_exp(x) == want, x
    assert math.isfinite(exp_or_inf.py_func(EXP_MAX))
    assert exp_or_inf.py_func(np.nextafter(EXP_MAX, np.inf)) == math.inf
    assert math.isnan(exp_or_inf.py_func(math.nan)) and math.isnan(exp_or_inf(math.nan))


def extreme(loss, output, scale, seed):
    """A one-hidden-layer case whose output logits reach about ``scale`` in size."""
    net, X, T = make_case("tanh", output, loss, 1, seed=seed)
    K = net.sizes[-1]
    net.weights(1)[:] = np.linspace(-1.0, 1.0, net.weights(1).size).reshape(K, -1) * scale
    net.biases(1)[:] = np.linspace(1.0, -1.0, K) * scale
    return net, X, T


CASES = [("bce", "sigmoid", 350.0, 1), ("bce", "sigmoid", 900.0, 2),
         ("ce", "softmax", 350.0, 3), ("ce", "softmax", 900.0, 4)]


def test_extreme_logits_give_the_same_bits_compiled_and_uncompiled(tmp_path):
    cases = [extreme(*c) for c in CASES]
    outputs = scalar_uncompiled(tmp_path, cases, "nodes")
    saw_inf = False
    for i, (net, X, T) in enumerate(cases):
        want = scalar.nodes(net, X, T)
        got = outputs[i]
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{CASES[i]} {name}")
        assert np.isfinite(want["loss"]) and np.isfinite(want["grad"]).all(), CASES[i]
        # dl/dy at the output is where e^x overflows: inf in both runs at the larger scale
        saw_inf |= bool(np.isinf(want["h2_grad"]).any())
    assert saw_inf
