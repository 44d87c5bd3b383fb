"""The benchmark suite: its baseline computes what the engines compute, and --quick runs."""

import json

import numpy as np
import pytest

from scalarprop import scalar
from scalarprop.bench import purepython
from scalarprop.bench.suite import make_data, make_net, step_flops
from scalarprop.cli import main


@pytest.mark.parametrize("sizes", [(2, 3, 1), (5, 7, 3)])
def test_pure_python_baseline_computes_the_engines_loss_and_update(sizes):
    net = make_net(sizes, seed=1)
    X, T = make_data(net, 6, seed=2)
    W, b, V, c = purepython.from_network(net)
    softmax = net.loss == "ce"
    ref = net.copy()
    for e in range(6):
        t = int(T[e, 0]) if softmax else T[e].tolist()
        loss = purepython.sgd_step(W, b, V, c, X[e].tolist(), t, 0.1, softmax)
        l_ref, g = scalar.loss_and_grad(ref, X[e], T[e])
        assert loss == pytest.approx(l_ref, rel=1e-12)
        ref.params[:] -= 0.1 * g
        np.testing.assert_allclose(purepython.to_params(W, b, V, c), ref.params, rtol=1e-12,
                                   atol=1e-14)


def test_flop_count_of_a_step():
    # 2-3-1: forward 6+3 multiply-adds, weight grads 6+3, input grads 3 -> 2*(2*9+3) flops,
    # plus the update of 13 parameters
    assert step_flops((2, 3, 1), 1) == 2 * (2 * 9 + 3) + 2 * 13


def test_quick_suite_writes_json_table_and_plot(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--quick", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    results = json.loads((out / "bench.json").read_text())
    assert set(results["sizes"]) == {"2-3-1", "2-16-1", "64-64-10", "784-128-10"}
    for figures in results["sizes"].values():
        for key in ("python_lists", "uncompiled", "scalar_epoch", "scalar_call",
                    "vectorized_b1", "vectorized_b32", "vectorized_b256"):
            assert figures[key] > 0
    assert results["matmul_gflops"] > 0 and results["machine"]["cpu"]
    assert results["compile"]["cold_s"] > 0 and len(results["sweep"]) >= 4
    assert "| engine |" in text and "Targets" in text
    assert (out / "bench.md").read_text().startswith("Time per example")
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"
