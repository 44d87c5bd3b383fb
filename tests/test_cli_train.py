"""The command line: demo (the main job) and train."""

import subprocess
import sys
from contextlib import nullcontext

import numpy as np
import pytest

from scalarprop import MLP
from scalarprop.cli import main


def test_demo_runs_and_reports_both_engines(tmp_path, capsys):
    out_png = tmp_path / "loss.png"
    assert main(["demo", "--num-train", "2000", "--epochs", "2", "--out", str(out_png)]) == 0
    text = capsys.readouterr().out
    assert "scalar engine (Numba" in text and "vectorized engine (numpy" in text
    assert "ratio vectorized / scalar" in text and "µs" in text
    assert "agree within 1e-10" in text and "validation accuracy" in text
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(out_png) in text


def test_train_command_saves_a_model(tmp_path, capsys):
    path = tmp_path / "m.npz"
    rc = main(["train", "--data", "synth", "--sizes", "2,8,2", "--epochs", "2", "--lr", "0.05",
               "--save", str(path), "--no-progress"])
    assert rc == 0
    net = MLP.load(path)
    assert net.sizes == (2, 8, 2) and net.loss == "ce"
    assert "validation accuracy" in capsys.readouterr().out


def test_train_on_a_user_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    np.savez(tmp_path / "d.npz", X=X, T=X @ [1.0, -2.0, 0.5])
    assert main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "3",
                 "--no-progress"]) == 0
    assert "squared loss" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["train", "--epochs", "x"], ["train", "--engine", "torch"], ["train", "--sizes", "2"],
    ["train", "--hidden", "softplus"], ["demo", "--bogus"], ["nosuchcommand"],
])
def test_bad_options_get_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err


@pytest.mark.parametrize("argv,match", [
    (["train", "--sizes", "3,4,2"], "features"), (["train", "--data", "nope.npz"], "--data"),
    (["train", "--sizes", "2,4,3"], "classes"), (["train", "--batch-size", "0"], "batch_size"),
])
def test_bad_values_get_a_clear_error(argv, match, capsys):
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def test_help_explains_every_option():
    for cmd in ("demo", "train", "check"):
        out = subprocess.run([sys.executable, "-m", "scalarprop.cli", cmd, "--help"],
                             capture_output=True, text=True, check=True).stdout
        assert "--" in out and "usage" in out


def test_check_command_passes_and_fails_properly(capsys):
    assert main(["check", "--sizes", "3,4,2", "--hidden", "tanh", "--output", "softmax",
                 "--loss", "ce"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["check", "--atol", "0", "--rtol", "0"]) == 1


def test_check_compares_any_two_engines(capsys, monkeypatch):
    assert main(["check", "--engines", "autodiff,scalar", "--sizes", "3,4,2"]) == 0
    out = capsys.readouterr().out
    assert "autodiff vs scalar" in out and "autodiff and scalar agree within 1e-12: yes" in out
    assert main(["check", "--engine", "autodiff"]) == 0      # against vectorized
    assert "autodiff vs vectorized" in capsys.readouterr().out
    # a wrong autodiff node value makes the comparison say no
    from scalarprop.engines import autodiff

    real = autodiff.nodes

    def off_by_a_bit(net, X, T):
        out = real(net, X, T)
        out["k1"] = out["k1"] + 1e-6
        return out

    monkeypatch.setattr(autodiff, "nodes", off_by_a_bit)
    assert main(["check", "--engines", "autodiff,scalar"]) == 1
    assert "agree within 1e-12: NO" in capsys.readouterr().out


def test_check_refuses_unknown_or_conflicting_engines(capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", "--engines", "autodiff,torch"])
    assert info.value.code == 2
    assert "'autodiff,torch': expected comma-separated engine names" in capsys.readouterr().err
    assert main(["check", "--engines", "scalar", "--engine", "autodiff"]) == 2
    assert "--engines and --engine" in capsys.readouterr().err


def test_check_holds_each_parameter_to_its_estimated_error_by_default(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "tolerance auto" in out and "est err" in out


@pytest.mark.parametrize("argv", [["--engines", "scalar,scalar"],
                                  ["--engine", "autodiff", "--engine", "autodiff"]])
def test_check_refuses_an_engine_named_twice(argv, capsys):
    # it compared scalar with vectorized instead, exit 0, without a word
    with pytest.raises(SystemExit) if argv[0] == "--engines" else nullcontext():
        assert main(["check", *argv]) == 2
    err = capsys.readouterr().err
    assert "named twice" in err and len(err.strip().splitlines()) == 1
