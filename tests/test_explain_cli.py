"""``scalarprop explain`` on the command line."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from scalarprop import MLP, explain, vectorized
from scalarprop.cli import main


def test_lecture_example_prints_the_chain(capsys):
    assert main(["explain", "w12", "v2", "--example", "lecture"]) == 0
    out = capsys.readouterr().out
    assert "∂l/∂w₁₂ = ∂l/∂y · ∂y/∂h₂ · ∂h₂/∂k₂ · ∂k₂/∂w₁₂" in out
    assert "= −0.0792" in out and "= −3.96" in out        # slides 43-44
    assert "w₁₂ increases" in out


def test_json_carries_the_numbers(capsys):
    assert main(["explain", "W0[1,0]", "--example", "lecture", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["weight"] == "W0[1,0]" and d["lecture_name"] == "w12"
    assert d["gradient"] == pytest.approx(-0.0792, abs=1e-12)
    assert [f["value"] for f in d["factors"]] == pytest.approx([-4, -2, 0.0099, -1], abs=1e-12)
    assert d["paths"][0]["nodes"] == ["W0[1,0]", "k1[1]", "h1[1]", "k2[0]", "h2[0]", "loss"]
    assert d["update_direction"] == 1


def test_a_flat_index_names_the_weight(capsys):
    """The README's ``scalarprop explain ... 5``: a flat index, as the command line passes it."""
    from scalarprop.examples import lecture_network

    net, _, _ = lecture_network()
    assert main(["explain", "2", "5", "--example", "lecture", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [r["weight"] for r in d] == [net.param_name(2), net.param_name(5)] == \
        ["W0[1,0]", "W0[2,1]"]
    assert d[0]["gradient"] == pytest.approx(-0.0792, abs=1e-12)
    assert main(["explain", "13", "--example", "lecture"]) == 2     # 13 parameters: 0..12
    assert "flat index out of range [0, 13)" in capsys.readouterr().err


def test_a_model_with_nan_parameters_gets_one_line(tmp_path, capsys):
    net = MLP([2, 3, 1], seed=0)
    net.params[4] = np.nan
    net.save(tmp_path / "nan.npz")
    assert main(["explain", "W0[0,0]", "--model", str(tmp_path / "nan.npz"), "--x", "1,2",
                 "--t", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"parameter {net.param_name(4)} is nan" in err and "finite parameters" in err


def test_saved_model_and_example_from_options(tmp_path, capsys):
    net = MLP([3, 4, 2], hidden="tanh", output="softmax", loss="ce", seed=7)
    path = tmp_path / "net.npz"
    net.save(path)
    assert main(["explain", "v21", "--model", str(path), "--x", "0.5,-1,2", "--t", "1",
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    _, grad = vectorized.loss_and_grad(net, [[0.5, -1.0, 2.0]], [1])
    assert d["gradient"] == pytest.approx(grad[net.param_index("W1[0,1]")], abs=1e-12)
    assert d["num_paths"] == 1                  # ce reads the logit: z₁ → l


def test_seeded_network_matches_the_library(capsys):
    args = ["--sizes", "2,3,3,1", "--hidden", "relu", "--seed", "3", "--x", "1,-2", "--t", "0.5"]
    assert main(["explain", "W0[2,1]", *args, "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    net = MLP([2, 3, 3, 1], hidden="relu", seed=3)
    e = explain(net, [1.0, -2.0], [0.5], "W0[2,1]")
    assert out.strip() == e._repr_markdown_().strip()


def test_errors_are_one_line_with_status_2(capsys):
    assert main(["explain", "w99", "--example", "lecture"]) == 2
    err = capsys.readouterr().err
    assert "valid names" in err and "w11 … w23" in err and err.count("\n") == 1
    assert main(["explain", "w12", "--sizes", "2,3,1"]) == 2                 # no example
    assert "--x" in capsys.readouterr().err
    assert main(["explain", "w12", "--example", "lecture", "--hidden", "tanh"]) == 2
    assert "--hidden" in capsys.readouterr().err
    assert main(["explain", "w12", "--example", "lecture", "--x", "1,2,3"]) == 2
    assert "shape (2,)" in capsys.readouterr().err
    assert main(["explain", "--example", "lecture"]) == 2                    # no weight
    assert "valid names" in capsys.readouterr().err
    assert main(["explain", "--list", "--example", "lecture"]) == 0
    assert "W0[0,0] … W0[2,1]" in capsys.readouterr().out


def test_subprocess_run():
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    r = subprocess.run([sys.executable, "-m", "scalarprop.cli", "explain", "v2", "--example",
                        "lecture"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "∂l/∂v₂ = ∂l/∂y · ∂y/∂v₂" in r.stdout and "= −3.96" in r.stdout
    assert np.isclose(float(r.stdout.split("scalar engine")[1].split()[0].replace("−", "-")),
                      -3.96, atol=1e-12)
