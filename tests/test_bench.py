"""The benchmark suite: its baseline computes what the engines compute, and --quick runs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from scalarprop import scalar
from scalarprop.bench import purepython
from scalarprop.bench.machine import avx2_env
from scalarprop.bench.report import targets, targets_table
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
    interleaved = results["step_share"]["784-128-10"]
    assert 0 < interleaved["gemm"] and 0 < interleaved["vectorized"]
    assert results["ceiling_gflops"] > 0 and interleaved["rounds"] == 3
    assert results["compile"]["cold_s"] > 0 and len(results["sweep"]) >= 4
    assert "| engine |" in text and "Targets" in text
    assert (out / "bench.md").read_text().startswith("Machine: ")
    machine = results["machine"]
    assert machine["simd_path"] in ("AVX-512", "AVX2", "AVX2 (forced)", "pre-AVX2")
    assert machine["blas_architecture"] and machine["blas_architecture"] in text
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"


def test_the_avx2_switches_put_blas_and_numba_on_their_avx2_kernels():
    code = ("import json; from scalarprop.bench.machine import machine; "
            "print(json.dumps(machine()))")
    env = dict(os.environ, **avx2_env())
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True, timeout=120)
    info = json.loads(r.stdout)
    assert info["blas_architecture"] == "Haswell" and info["numba_cpu"] == "haswell"
    if info["instruction_set"] == "AVX-512":
        assert info["simd_path"] == "AVX2 (forced)"


def fake_run(vectorized_b256, torch_b256, path):
    sizes = {s: {"torch_b256": torch_b256, "vectorized_b256": vectorized_b256,
                 "torch_b32": 1.0, "vectorized_b32": 1.0, "scalar_epoch": 1.0}
             for s in ("784-128-10", "64-64-10")}
    run = {"sizes": sizes, "matmul_gflops": 120.0, "ceiling_gflops": 100.0,
           "machine": {"simd_path": path},
           "gflops": {"784-128-10": {"vectorized_b256": 90.0, "torch_b256": 60.0}},
           "compile": {"demo_cold_total_s": 4.0, "demo_warm_total_s": 3.5}}
    run["targets"] = targets(run)
    return run


def test_the_targets_table_says_no_where_a_goal_is_missed():
    fast, slow = fake_run(1.0, 2.0, "AVX-512"), fake_run(2.0, 1.0, "AVX2 (forced)")
    table = targets_table([fast, slow]).splitlines()
    assert table[0] == "| target | AVX-512 | AVX2 (forced) | goal | depends on SIMD |"
    row = next(line for line in table if "batch 256 vs PyTorch batch 256, 784" in line)
    assert row.split(" | ")[1:4] == ["2.00×", "0.50× (**no**)", "≥ 1.00×"]
    share = next(line for line in table if "share of the matmul ceiling" in line)
    assert "(PyTorch: 60%)" in share and "90%" in share
    warm = next(line for line in table if "`scalarprop demo`, warm" in line)
    assert warm.endswith("| 3.5 s (**no**) | 3.5 s (**no**) | ≤ 3.0 s | little |")
    assert next(line for line in table if "pure-Python" in line).endswith("| yes |")


def test_compare_prints_earlier_runs_side_by_side(tmp_path, capsys):
    paths = []
    for name, run in (("a", fake_run(1.0, 2.0, "AVX-512")), ("b", fake_run(2.0, 1.0, "AVX2"))):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(run))
    assert main(["bench", "--compare", *map(str, paths)]) == 0
    assert capsys.readouterr().out.startswith("| target | AVX-512 | AVX2 | goal |")


@pytest.mark.parametrize("text,match", [("[1, 2]", "not a bench.json written by scalarprop"),
                                        ("{}", "not a bench.json written by scalarprop"),
                                        ('{"machine": [], "sizes": {}}', "not a bench.json")])
def test_compare_refuses_a_file_that_is_not_a_bench_json(tmp_path, capsys, text, match):
    path = tmp_path / "b.json"
    path.write_text(text)
    assert main(["bench", "--compare", str(path)]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def row(run, start):
    return next(r for r in targets(run) if r["target"].startswith(start))


def test_the_share_comes_from_the_interleaved_rounds_where_a_run_has_them():
    run = fake_run(1.0, 2.0, "AVX-512")
    share = row(run, "vectorized batch 256, share of the matmul ceiling")
    assert share["measured"] == 0.9 and share["met"]                   # 90 of 100 GFLOP/s
    assert row(run, "vectorized batch 256, share of a 1024×1024")["measured"] == 0.75
    run["step_share"] = {"784-128-10": {"vectorized": 0.8, "gemm": 0.84, "torch": 0.7,
                                        "vectorized_1024": 0.7}}
    table = targets_table([run])
    assert "(PyTorch: 70%), 784-128-10 | 80% (**no**) | ≥ 85% |" in table
    assert "GEMMs alone, share of the ceiling, 784-128-10 | 84% |" in table
    assert "(the first ceiling), 784-128-10 | 70% |" in table


def test_a_file_from_before_the_comparable_ceiling_gets_no_share_of_it():
    run = fake_run(1.0, 2.0, "AVX-512")
    del run["ceiling_gflops"]
    assert row(run, "vectorized batch 256, share of the matmul ceiling")["measured"] is None
    assert row(run, "vectorized batch 256, share of a 1024×1024")["measured"] == 0.75


def test_the_ceiling_is_the_best_of_the_comparable_sizes(monkeypatch):
    from scalarprop.bench import suite

    rates = {256: 60.0, 384: 72.0, 512: 70.0, 1024: 80.0}
    monkeypatch.setattr(suite, "matmul_gflops", lambda repeats, n=1024: rates[n])
    assert suite.ceiling_gflops(1) == 72.0


def test_compare_refuses_what_is_not_a_file(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "pipe.json")           # opening it waited for a writer
    for path in (tmp_path, tmp_path / "pipe.json", tmp_path / "missing.json"):
        assert main(["bench", "--compare", str(path)]) == 2
        assert "not a file (a bench.json is expected)" in capsys.readouterr().err
