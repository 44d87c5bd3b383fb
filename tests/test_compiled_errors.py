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


def test_finite_numbers_whose_sum_overflows_are_accepted(cf):
    # the finiteness check sums first: 1e308 + 1e308 is inf, yet every number is finite
    big = [1e308, 1e308]
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(big))
    assert cf(big, [0.0, 0.0]) == 0.0
    np.testing.assert_array_equal(cf.grad([0.0, 0.0], big)[1], big)
    rows = np.array([big, [1.0, -np.inf], big])
    with pytest.raises(ValueError, match=r"argument 1 \(x\): not finite \(-inf\) at index "
                                         r"\[1, 1\]"):
        cf.grad([0.5, 0.5], rows, batched=(1,))


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


# -- a careless user's sweep (not callable, wrong arity, too many inputs, ...) --------------


def test_what_compile_cannot_trace_is_refused_before_tracing(monkeypatch):
    from scalarprop import validate

    with pytest.raises(ValueError, match="fn must be a function, got str"):
        spc.compile("f", 2)
    with pytest.raises(ValueError, match=r"one list of inputs per size is passed, 1 in all"):
        spc.compile(lambda: 1.0, 1)
    with pytest.raises(ValueError, match=r"2 in all, but too many positional arguments"):
        spc.compile(lambda x: x[0], 1, 1)
    # a size that would hold the machine: refused with the figure, before any placeholder
    monkeypatch.setattr(validate, "available_memory", lambda: 1 << 20)
    with pytest.raises(ValueError, match="tracing 100000 inputs needs 28.6 MiB"):
        spc.compile(lambda x: x[0], 100_000)


def test_reading_past_an_argument_while_tracing_names_the_sizes():
    with pytest.raises(spc.TracingError, match=r"read past the end of an argument .*\(2,\)"):
        spc.compile(lambda x: x[0] * x[5], 2)


def test_a_constant_that_is_not_finite_is_refused_while_tracing():
    with pytest.raises(spc.TracingError, match="constant nan is not a finite number"):
        spc.compile(lambda x: x[0] * float("nan"), 1)


def test_per_row_is_a_flag_and_ragged_rows_say_where(cf):
    with pytest.raises(ValueError, match="per_row='yes': expected True or False"):
        cf.grad([1.0, 2.0], np.ones((2, 2)), batched=(1,), per_row="yes")
    with pytest.raises(ValueError, match=r"argument 1 \(x\): not an array of numbers"):
        cf([1.0, 2.0], [[1.0], [2.0, 3.0]])


def test_an_sgd_update_that_overflows_is_undone_and_named():
    # step 0 is finite (w - 1e308 * 1e-10), step 1 overflows (w - 1e308 * 10): the parameters
    # after step 0 are kept, computed here by hand
    lin = spc.compile(lambda w, x: spc.dot(w, x), 2, 2)
    X = np.array([[1e-10, 1e-10], [10.0, 10.0], [1.0, 1.0]])
    for batch_size in (1, 2):
        w = np.ones(2)
        with pytest.raises(ValueError, match="step 1: .*update makes a parameter NaN or inf"):
            lin.sgd_epoch(w, X[[0, 1, 2]] if batch_size == 1 else X[[0, 0, 1, 1]],
                          lr=1e308, batched=(1,), batch_size=batch_size)
        expected = 1.0 - 1e308 * 1e-10 * batch_size
        np.testing.assert_array_equal(w, [expected, expected])


@pytest.mark.parametrize("make,match", [
    (lambda: spc.Value("a"), r"Value\('a'\): expected a real number, got str"),
    (lambda: spc.Value(None), "expected a real number, got NoneType"),
    (lambda: spc.Value(1 + 2j), "expected a real number, got complex"),
    (lambda: spc.Value([1.0, 2.0]), "expected a real number, got list"),
    (lambda: spc.Value(float("nan")), r"Value\(nan\): not a finite number"),
    (lambda: spc.Value(float("-inf")), r"Value\(-inf\): not a finite number"),
    (lambda: spc.Value(1.0) + "a", "expected a real number, got str"),
    (lambda: spc.Value(-1.0).log(), r"log\(-1.0\): math domain error"),
    (lambda: spc.Value(1.0) / 0, r"1.0 / 0.0: float division by zero"),
    (lambda: spc.Value(0.0) ** -1, r"0.0 \*\* -1: "),
    (lambda: spc.Value(0.0) ** 0.5, r"the derivative of x \*\* 0.5 at x = 0.0"),
    (lambda: spc.Value(-2.0) ** 0.5, "fractional power is not a real number"),
    (lambda: spc.Value(1000.0).exp(), r"exp\(1000.0\): math range error"),
    (lambda: spc.Value(1e200) * 1e200, r"\* of 1e\+200, 1e\+200 gives inf"),
])
def test_an_eager_value_says_which_number_or_operation_is_wrong(make, match):
    with pytest.raises(ValueError, match=match):
        make()
