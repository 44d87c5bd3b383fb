"""The codegen back end (straight-line code compiled by Numba) against the tape."""

import numpy as np
import pytest

import scalarprop.engines.compiled as spc
from scalarprop.engines.compiled.mlp import mlp_loss


def branches(x):
    a, b, c = x
    u = (a * b - c / b) ** 2 + (-a).exp() * b.sin() - c.cos() + (c * c + 1.0).log()
    u = u + (a - b).relu() + (c - 0.2).abs() + b.sigmoid() * a.tanh()
    return u + spc.where(a > b, a * c, b - c) + spc.where(b <= c, b, 2.0 * c)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALARPROP_CODEGEN_DIR", str(tmp_path))
    return tmp_path


def test_codegen_equals_the_tape(cache):
    rng = np.random.default_rng(0)
    cases = [(branches, (3,), [rng.normal(size=3)]),
             (mlp_loss((2, 3, 1)), (13, 2, 1), [rng.normal(size=13), rng.normal(size=2),
                                                [0.5]])]
    for fn, sizes, args in cases:
        tape = spc.compile(fn, *sizes, backend="tape")
        gen = spc.compile(fn, *sizes, backend="codegen")
        assert gen.backend == "codegen" and tape.backend == "tape"
        assert gen(*args) == pytest.approx(tape(*args), rel=1e-14)
        for wrt in (0, tuple(range(len(sizes)))):
            value, g = gen.grad(*args, wrt=wrt)
            ref_value, ref_g = tape.grad(*args, wrt=wrt)
            assert value == pytest.approx(ref_value, rel=1e-14)
            for a, b in zip(g if isinstance(wrt, tuple) else [g],
                            ref_g if isinstance(wrt, tuple) else [ref_g]):
                np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_the_module_is_cached_by_the_graph_and_auto_uses_it(cache):
    def f(x):
        return 2 / (-x[0]).exp().sin()

    assert spc.compile(f, 1).backend == "tape"          # nothing compiled yet
    spc.compile(f, 1, backend="codegen").grad([-1.0])
    assert len(list(cache.glob("sp_graph_*.py"))) == 1
    again = spc.compile(lambda y: 2 / (-y[0]).exp().sin(), 1)   # the same graph
    assert again.backend == "codegen"
    assert again.grad([-1.0])[1][0] == pytest.approx(-29.37455375460208, rel=1e-14)
    assert spc.compile(lambda x: x[0] * 3.0, 1, backend="codegen")([2.0]) == 6.0
    assert len(list(cache.glob("sp_graph_*.py"))) == 2


def test_codegen_refuses_what_it_is_not_for(cache):
    def long_chain(x):
        y = x[0]
        for _ in range(70):
            y = (y * x[1]).sin()
        return y

    with pytest.raises(ValueError, match="at most"):
        spc.compile(long_chain, 2, backend="codegen")
    with pytest.raises(ValueError, match="output"):
        spc.compile(lambda x: [x[0], x[0] * 2.0], 1, backend="codegen")
    with pytest.raises(ValueError, match="backend"):
        spc.compile(lambda x: x[0], 1, backend="fast")


def gated(x):
    """A comparison used as a number: flat, so no gradient flows through it."""
    return (x[0] > 0.5) * x[1] * x[1] + spc.where(x[1] >= x[0], x[0], x[1])


def test_generated_module_has_the_readable_backward_and_no_dead_gradient(cache):
    from scalarprop.engines.compiled import codegen, ops
    from scalarprop.engines.compiled.source import render
    cf = spc.compile(gated, 2, backend="codegen")
    module = codegen.module_source(cf.program)
    # the compiled f_grad is the readable backward for every argument, line for line
    assert render(cf.program, ["a0"], "f", cf.need((0,))) in module
    comparisons = [s for s in range(cf.program.first, cf.program.num_slots)
                   if cf.program.op[s] in (ops.GT, ops.GE)]
    assert len(comparisons) == 2 and not cf.need((0,))[comparisons].any()
    x = np.array([0.9, 0.3])
    np.testing.assert_allclose(cf.grad(x)[1], [0.0, 2 * 0.3 + 1.0], rtol=1e-15)
