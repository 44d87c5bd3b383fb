"""Bad input to compiled functions: a clear error, before any kernel runs."""

import numpy as np
import pytest

import scalarprop.engines.compiled as spc


def branchy(x):
    if x[0] > 0:                         # the line the error must name
        return x[0]
    return -x[0]


def test_a_branch_on_a_traced_value_names_the_line_and_the_way_out():
    with pytest.raises(spc.TracingError) as info:
        spc.compile(branchy, 1)
    message = str(info.value)
    assert "test_compiled_errors.py" in message and "if x[0] > 0" in message
    assert "relu" in message and "where" in message


def test_float_of_a_traced_value_is_refused():
    with pytest.raises(spc.TracingError, match=r"float\(x\[0\]\) \* 2"):
        spc.compile(lambda x: float(x[0]) * 2, 1)


def test_where_is_the_branch_that_traces():
    cf = spc.compile(lambda x: spc.where(x[0] > 0, x[0], -x[0]), 1)
    assert cf([-3.0]) == 3.0 and cf.grad([-3.0])[1][0] == -1.0
    assert cf([2.0]) == 2.0 and cf.grad([2.0])[1][0] == 1.0


def test_non_numbers_and_foreign_values_are_refused_while_tracing():
    with pytest.raises(spc.TracingError, match="str"):
        spc.compile(lambda x: x[0] + "a", 1)
    with pytest.raises(spc.TracingError, match="eager Value"):
        spc.compile(lambda x: x[0] + spc.Value(1.0), 1)
    with pytest.raises(spc.TracingError, match="constant"):
        spc.compile(lambda x: x[0] ** x[0], 1)
    with pytest.raises(spc.TracingError, match="returned"):
        spc.compile(lambda x: None, 1)


@pytest.fixture(scope="module")
def cf():
    return spc.compile(lambda w, x: (w[0] * x[0] + w[1] * x[1]).tanh(), 2, 2)


@pytest.mark.parametrize("args,match", [
    (([1.0, 2.0],), "takes 2 argument"),
    (([1.0, 2.0, 3.0], [1.0, 2.0]), r"argument 0 \(w\): expected 2"),
    (([1.0, 2.0], [[1.0, 2.0]]), r"argument 1 \(x\): expected 2"),
    (([1.0, np.nan], [1.0, 2.0]), r"argument 0 \(w\): not finite"),
    (([1.0, 2.0], [np.inf, 2.0]), r"argument 1 \(x\): not finite"),
    ((["a", "b"], [1.0, 2.0]), "real numbers"),
    (([1 + 2j, 2.0], [1.0, 2.0]), "real numbers"),
])
def test_bad_arguments(cf, args, match):
    with pytest.raises(ValueError, match=match):
        cf(*args)
    with pytest.raises(ValueError, match=match):
        cf.grad(*args)


@pytest.mark.parametrize("wrt,match", [(2, "out of range"), (-1, "out of range"),
                                       ((0, 0), "twice"), (1.0, "ints"), ((), "at least")])
def test_bad_wrt(cf, wrt, match):
    with pytest.raises(ValueError, match=match):
        cf.grad([1.0, 2.0], [3.0, 4.0], wrt=wrt)


def test_batched_arguments_are_checked(cf):
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        cf.grad([1.0, 2.0], [1.0, 2.0], batched=(1,))
    with pytest.raises(ValueError, match="is batched"):
        cf.grad([1.0, 2.0], [[1.0, 2.0]], wrt=1, batched=(1,))
    with pytest.raises(ValueError, match="rows"):
        spc.compile(lambda w, a, b: w[0] * a[0] * b[0], 1, 1, 1).grad(
            [1.0], np.ones((3, 1)), np.ones((4, 1)), batched=(1, 2))


def test_vector_outputs_have_no_grad_or_hvp():
    vf = spc.compile(lambda x: [x[0], x[0] * 2], 1)
    with pytest.raises(ValueError, match="vjp"):
        vf.grad([1.0])
    with pytest.raises(ValueError, match="2 outputs"):
        vf.hvp([1.0], [1.0])
    with pytest.raises(ValueError, match="u: expected 2"):
        vf.vjp([1.0], [1.0])


def test_sgd_refuses_what_it_cannot_update_and_leaves_parameters_alone(cf):
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="in place"):
        cf.sgd_epoch([1.0, 2.0], X, lr=0.1, batched=(1,))
    w = np.array([1.0, 2.0])
    for kwargs, match in [({"lr": -1.0}, "lr"), ({"lr": 0.1, "batch_size": 0}, "batch_size"),
                          ({"lr": 0.1, "order": [0, 5]}, "order")]:
        with pytest.raises(ValueError, match=match):
            cf.sgd_epoch(w, X, batched=(1,), **kwargs)
    np.testing.assert_array_equal(w, [1.0, 2.0])


def test_bad_sizes():
    with pytest.raises(ValueError, match="size"):
        spc.compile(lambda x: x[0])
    with pytest.raises(ValueError, match="positive int"):
        spc.compile(lambda x: x[0], 0)


def test_none_is_not_a_number():
    with pytest.raises(spc.TracingError, match="NoneType"):
        spc.compile(lambda x: x[0] + None, 1)
