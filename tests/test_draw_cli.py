"""``scalarprop draw``: a valid PNG or SVG by the extension, and clear errors (exit 2)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scalarprop import MLP
from scalarprop.cli import main


def test_png_for_the_lecture_example(tmp_path, capsys):
    out = tmp_path / "net.png"
    assert main(["draw", "--example", "lecture", "--show", "gradients", "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    assert "wrote" in capsys.readouterr().out


def test_svg_by_the_extension_with_the_numbers_in_it(tmp_path):
    out = tmp_path / "net.svg"
    assert main(["draw", "--example", "lecture", "--show", "gradients", "--out", str(out)]) == 0
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # text kept as text, labelled by the gids: dl/dv2 = -3.96 is on the edge W1[0,1]
    ids = {el.get("id") for el in root.iter()}
    assert "edge:W1[0,1]" in ids and "node:loss" in ids


def test_sizes_seed_and_a_saved_model_draw_the_same_network(tmp_path):
    net = MLP([4, 5, 3], hidden="tanh", output="softmax", loss="ce", seed=7)
    net.save(tmp_path / "m.npz")
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    common = ["--x", "0.5,-1,2,0", "--t", "2", "--show", "updates"]
    assert main(["draw", "--sizes", "4,5,3", "--hidden", "tanh", "--output", "softmax",
                 "--loss", "ce", "--seed", "7", *common, "--out", str(a)]) == 0
    assert main(["draw", "--model", str(tmp_path / "m.npz"), *common, "--out", str(b)]) == 0
    assert a.read_text().count("node:") == 2 * 5 + 2 * 3 + 4 + 2
    assert a.read_bytes() == b.read_bytes()


def test_weight_highlights_its_paths_in_the_file(tmp_path):
    out = tmp_path / "w.svg"
    assert main(["draw", "--example", "lecture", "--weight", "w12", "--out", str(out)]) == 0
    ids = {el.get("id") for el in ET.parse(out).getroot().iter()}
    assert "path:W0[1,0]>k1[1]>h1[1]>k2[0]>h2[0]>loss" in ids and "chain" in ids


def test_a_flat_index_names_the_weight_as_the_readme_says(tmp_path):
    out = tmp_path / "w.svg"
    assert main(["draw", "--example", "lecture", "--weight", "2", "--out", str(out)]) == 0
    ids = {el.get("id") for el in ET.parse(out).getroot().iter()}
    assert "path:W0[1,0]>k1[1]>h1[1]>k2[0]>h2[0]>loss" in ids      # flat index 2 is W0[1,0]


def test_no_example_draws_the_weights(tmp_path):
    out = tmp_path / "w.png"
    assert main(["draw", "--sizes", "3,16,40,2", "--no-example", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv,message", [
    (["--out", "net.jpg"], "--out 'net.jpg': expected a file name ending in .png or .svg"),
    (["--out", "net"], "expected a file name ending in .png or .svg"),
    (["--example", "lecture", "--sizes", "2,3,1"], "--sizes: --example lecture fixes the network"),
    (["--example", "lecture", "--model", "m.npz"], "--example and --model: give one of them"),
    (["--x", "1,2,3"], "--x '1,2,3': the network has 2 inputs, got 3 numbers"),
    (["--x", "1,a"], "--x '1,a': expected comma-separated numbers"),
    (["--t", "nan"], "t: contains NaN"),
    (["--no-example", "--show", "gradients"], "show='gradients' needs an example"),
    (["--no-example", "--weight", "W0[0,0]"], "--no-example: drop --x, --t and --weight"),
    (["--model", "missing.npz"], "missing.npz: cannot read model file"),
    (["--max-units", "1"], "max_units=1"),
    (["--example", "lecture", "--weight", "w7"], "weight='w7'"),
    (["--weight", "W0[9,9]"], "out of range"),
    (["--out", "no/such/dir/net.png"], "the directory 'no/such/dir' does not exist"),
    (["--dpi", "100000"], "--dpi 100000: expected 10 to 1000 dots per inch"),
    (["--dpi", "5"], "--dpi 5: expected 10 to 1000"),
])
def test_bad_options_get_a_clear_error(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["draw", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scalarprop draw: error: ") and message in err
    assert not any(p.suffix in (".png", ".svg") for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("argv", [["--show", "values2"], ["--sizes", "2"], ["--example", "x"]])
def test_bad_choices_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["draw", *argv])
    assert exc.value.code == 2
    assert "scalarprop draw: error:" in capsys.readouterr().err


def test_random_example_is_seeded(tmp_path):
    files = [tmp_path / f"{i}.svg" for i in range(3)]
    for out, seed in zip(files, ("3", "3", "4")):
        assert main(["draw", "--sizes", "3,4,1", "--seed", seed, "--out", str(out)]) == 0
    assert files[0].read_bytes() == files[1].read_bytes()
    assert files[0].read_bytes() != files[2].read_bytes()
