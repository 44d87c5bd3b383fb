"""Every file a user asks for is written atomically: a failure mid-write (a full disk, a
failing writer, Ctrl-C) leaves the old file whole and no temporary file behind; a place that
cannot be written is refused before the work (issue 16, "atomic saves", for pages, pictures
and reports as for models)."""

import json
import pathlib

import numpy as np
import pytest
from matplotlib.figure import Figure

import scalarprop.files as files
from scalarprop import MLP, explore
from scalarprop.bench.report import plot
from scalarprop.cli import main
from scalarprop.files import atomic_write
from scalarprop.plot.page import Explorer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OLD = b"the old file, whole\n"


def old_file(folder, name):
    path = folder / name
    path.write_bytes(OLD)
    return path


def assert_untouched(path):
    assert path.read_bytes() == OLD
    assert [p.name for p in path.parent.iterdir()] == [path.name]    # no temporary file


def fail_mid_write(error):
    """A writer that puts out part of the file, then fails as ``error``."""
    def savefig(self, fh, *args, **kwargs):
        fh.write(b"half a picture")
        raise error
    return savefig


def error_lines(err):
    """stderr's lines, without a first run's note that it is compiling the kernels."""
    return [line for line in err.strip().splitlines()
            if not line.startswith("compiling the kernels")]


def deny_writing(monkeypatch):
    # root ignores a read-only mode bit, so the refusal of the probe file is simulated
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(files.tempfile, "mkstemp", denied)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt(),
                                   RuntimeError("a writer's bug")])
def test_a_writer_failing_mid_write_leaves_the_old_file_whole(tmp_path, error):
    path = old_file(tmp_path, "out.bin")
    with pytest.raises(type(error)):
        with atomic_write(path) as fh:
            fh.write(b"new and half")
            raise error
    assert_untouched(path)
    with atomic_write(path) as fh:                   # and a whole write replaces it
        fh.write(b"new")
    assert path.read_bytes() == b"new"


def test_the_explorer_page_keeps_the_old_page_when_the_disk_is_full(tmp_path, monkeypatch):
    path = old_file(tmp_path, "page.html")
    page = Explorer("<html>new</html>", None, [], 1)

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(ValueError, match="cannot write the page.*No space left"):
        page.save(path)
    assert_untouched(path)
    monkeypatch.undo()
    assert page.save(path) == str(path) and path.read_text() == "<html>new</html>"


@pytest.mark.parametrize("where", ["missing", "read-only"])
def test_explore_refuses_a_place_it_cannot_write_before_recording(tmp_path, monkeypatch, where):
    import scalarprop.plot.page as page_module

    def no_work(*args, **kwargs):
        raise AssertionError("the SGD run started before the output was checked")

    monkeypatch.setattr(page_module, "record", no_work)
    out = tmp_path / "no-such-dir" / "page.html" if where == "missing" else tmp_path / "p.html"
    if where == "read-only":
        deny_writing(monkeypatch)
    net = MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="does not exist|cannot write in"):
        explore(net, np.zeros((2, 2)), np.zeros((2, 1)), out)


@pytest.mark.parametrize("ext", [".png", ".svg"])
def test_draw_keeps_the_old_picture_when_writing_fails(tmp_path, monkeypatch, capsys, ext):
    path = old_file(tmp_path, "net" + ext)
    monkeypatch.setattr(Figure, "savefig", fail_mid_write(OSError(28, "No space left")))
    status = main(["draw", "--example", "lecture", "--out", str(path)])
    err = capsys.readouterr().err
    assert status == 2 and len(error_lines(err)) == 1 and "No space left" in err
    assert_untouched(path)


@pytest.mark.parametrize("command", [["draw", "--example", "lecture"],
                                     ["explore", "--example", "lecture", "--steps", "1"]])
def test_draw_and_explore_refuse_a_read_only_place_first(tmp_path, monkeypatch, capsys,
                                                         command):
    deny_writing(monkeypatch)
    out = tmp_path / ("x.png" if command[0] == "draw" else "x.html")
    status = main([*command, "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert "cannot write in" in captured.err and len(error_lines(captured.err)) == 1


def test_the_bench_plot_keeps_the_old_picture_when_writing_fails(tmp_path, monkeypatch):
    results = json.loads((ROOT / "benchmarks" / "bench-avx512.json").read_text())
    path = old_file(tmp_path, "bench.png")
    monkeypatch.setattr(Figure, "savefig", fail_mid_write(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        plot(results, str(path))
    assert_untouched(path)


@pytest.mark.parametrize("where", ["a file", "read-only"])
def test_bench_refuses_an_out_it_cannot_write_before_measuring(tmp_path, monkeypatch, capsys,
                                                               where):
    import scalarprop.bench.run as run_module

    monkeypatch.setattr(run_module.S, "torch_available",
                        lambda: pytest.fail("measuring started before --out was checked"))
    out = old_file(tmp_path, "results") if where == "a file" else tmp_path / "results"
    if where == "read-only":
        deny_writing(monkeypatch)
    status = main(["bench", "--quick", "--no-progress", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and len(error_lines(err)) == 1
    assert ("cannot make the directory" if where == "a file" else "cannot write in") in err


def test_demo_refuses_a_picture_format_it_cannot_write_before_training(tmp_path, capsys):
    status = main(["demo", "--out", str(tmp_path / "loss.txt")])
    captured = capsys.readouterr()
    assert status == 2 and "expected a file name ending in .png or .svg" in captured.err
    assert "training" not in captured.out and list(tmp_path.iterdir()) == []
