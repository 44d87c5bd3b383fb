"""Hypothesis strategies for property tests of backprop: networks, batches that fit them,
arrays. A property test of your own gradient is then three lines::

    @settings(max_examples=25, deadline=None)
    @given(net=networks(), data=st.data())
    def test_my_backprop(net, data):
        X, T = data.draw(batches(net, 4))
        assert check_gradients(net, X, T, engine="vectorized").ok

Needs ``hypothesis``, an optional dependency (``pip install scalarprop[test]``); the rest of
:mod:`scalarprop.testing` does not. The imports are absolute: this module is also reached
as ``scalarprop.testing.strategies``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as exc:               # hypothesis is optional: say how to get it
    raise ImportError("scalarprop.testing.strategies needs hypothesis: pip install "
                      "'scalarprop[test]' (or pip install hypothesis)") from exc

from scalarprop.functions import HIDDEN, LOSS_OUTPUTS
from scalarprop.network import MLP

#: every (output, loss) pair the network accepts
HEADS = tuple((output, loss) for loss, outputs in LOSS_OUTPUTS.items() for output in outputs)


def check_range(low: Any, high: Any, name: str, positive: bool = False) -> None:
    for value, what in ((low, f"min_{name}"), (high, f"max_{name}")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)) \
                or not np.isfinite(value) or (positive and value <= 0):
            raise ValueError(f"{what}={value!r}: expected a finite "
                             f"{'positive ' if positive else ''}number")
    if low > high:
        raise ValueError(f"min_{name}={low!r} > max_{name}={high!r}")


def networks(min_depth: int = 0, max_depth: int = 3, min_width: int = 1, max_width: int = 6,
             min_scale: float = 0.01, max_scale: float = 3.0,
             hidden: tuple[str, ...] = tuple(HIDDEN),
             heads: tuple[tuple[str, str], ...] = HEADS) -> st.SearchStrategy[MLP]:
    """Random networks: ``depth`` hidden layers of random widths, an activation and an
    (output, loss) pair from those given, and every weight and bias drawn ``N(0, scale²)``
    with the weight scale log-uniform in ``[min_scale, max_scale]`` (non-zero biases: a zero
    bias puts relu units exactly at their kink)."""
    check_range(min_depth, max_depth, "depth")
    check_range(min_width, max_width, "width")
    check_range(min_scale, max_scale, "scale", positive=True)
    if min_depth < 0 or min_width < 1:
        raise ValueError(f"min_depth={min_depth!r}, min_width={min_width!r}: need depth >= 0 "
                         "and width >= 1")
    unknown = [h for h in hidden if h not in HIDDEN]
    bad_heads = [pair for pair in heads if pair not in HEADS]
    if not hidden or unknown or not heads or bad_heads:
        raise ValueError(f"hidden={hidden!r}, heads={heads!r}: expected non-empty choices "
                         f"from {sorted(HIDDEN)} and {list(HEADS)}")

    @st.composite
    def build(draw: Any) -> MLP:
        depth = draw(st.integers(min_depth, max_depth))
        widths = draw(st.lists(st.integers(min_width, max_width), min_size=depth + 1,
                               max_size=depth + 1))
        output, loss = draw(st.sampled_from(heads))
        n_out = 1 if loss == "hinge" else draw(st.integers(2 if output == "softmax" else 1, 4))
        act = draw(st.sampled_from(hidden))
        seed = draw(st.integers(0, 2**31 - 1))
        log_scale = draw(st.floats(np.log(min_scale), np.log(max_scale)))
        net = MLP(widths + [n_out], act, output, loss, seed=seed)
        rng = np.random.default_rng(seed)
        net.params[:] = rng.normal(scale=np.exp(log_scale), size=net.num_params)
        return net

    return build()


def arrays(shape: Any, min_value: float = -3.0, max_value: float = 3.0
           ) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` (an int, a tuple, or a strategy of them) with finite
    elements in ``[min_value, max_value]``."""
    check_range(min_value, max_value, "value")
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    return hnp.arrays(np.float64, shape, elements=elements)


def batches(net: MLP, n: int = 4) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """``(X, T)``: ``n`` examples with inputs in ``[-3, 3]`` and targets the net's loss
    accepts: floats (squared, absolute), 0/1 (bce), class indices (ce), ±1 (hinge)."""
    if not isinstance(net, MLP):
        raise ValueError(f"net: expected an MLP, got {type(net).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r}: expected a positive number of examples")
    K = net.sizes[-1]
    X = arrays((n, net.sizes[0]))
    if net.loss == "ce":
        T = hnp.arrays(np.int64, (n,), elements=st.integers(0, K - 1))
    elif net.loss == "bce":
        T = hnp.arrays(np.float64, (n, K), elements=st.sampled_from([0.0, 1.0]))
    elif net.loss == "hinge":
        T = hnp.arrays(np.float64, (n, K), elements=st.sampled_from([-1.0, 1.0]))
    else:
        T = arrays((n, K))
    return st.tuples(X, T)
