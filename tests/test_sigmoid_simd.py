"""functions.sigmoid_simd (the fast engines' vectorizable sigmoid) against the lecture's
sigmoid: within 3 units in the last place wherever e^-|k| is a normal number, the same limits
beyond, NaN for NaN."""

import numpy as np
from numba import njit

from scalarprop.functions import sigmoid, sigmoid_simd


@njit
def both(k, fast, lecture):
    for i in range(k.shape[0]):
        fast[i] = sigmoid_simd(k[i])
        lecture[i] = sigmoid(k[i])


def run(k):
    fast, lecture = np.empty_like(k), np.empty_like(k)
    both(k, fast, lecture)
    return fast, lecture


def test_within_three_ulp_of_the_lecture_sigmoid():
    rng = np.random.default_rng(0)
    # the whole range, the reduction's boundaries (multiples of ln 2 / 2) and tiny values
    k = np.concatenate([rng.normal(size=20_000) * 8, rng.uniform(-708, 708, 20_000),
                        np.arange(-1400, 1401) * np.log(2) / 2, [0.0, -0.0, 1e-300, -1e-300,
                                                                 5e-324, 708.0, -708.0]])
    fast, lecture = run(k)
    ulps = np.abs(fast - lecture) / np.spacing(lecture)
    assert ulps.max() <= 3, k[ulps.argmax()]


def test_the_limits_and_nan():
    k = np.array([709.0, -709.0, 745.0, -745.0, 1e300, -1e300, np.inf, -np.inf, np.nan])
    fast, lecture = run(k)
    np.testing.assert_array_equal(fast[::2][:-1], 1.0)
    assert (fast[1:-1:2] == 0.0).all() and (lecture[1:-1:2] < 1.3e-308).all()
    assert np.isnan(fast[-1]) and np.isnan(lecture[-1])

