"""Cases that mutation testing (docs/mutation-testing.md) showed no other test pins down in
autodiff's ops."""

import numpy as np

from scalarprop import autodiff as ad
from scalarprop.autodiff import TensorNode


def test_sum_gives_a_scalar_and_keeps_dimensions_only_when_asked():
    x = TensorNode(np.array([[1.0, 2.0], [3.0, 4.0]]))
    total = ad.sum(x)
    assert total.value.shape == () and total.value == 10.0
    assert ad.sum(x, axis=1).value.tolist() == [3.0, 7.0]
    assert ad.sum(x, axis=1, keepdims=True).value.tolist() == [[3.0], [7.0]]
