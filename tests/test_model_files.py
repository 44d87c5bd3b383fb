"""Issue 16, cases 1, 3, 4, 6 and 7: saves that cannot destroy the old file, paths that are
what they say, and model and data files that are trusted in nothing.

Numbers in comments (``# 16.4``) are the issue's numbered cases."""

import io
import os
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalarprop import MLP, load_arrays
from scalarprop import validate as validate_module
from scalarprop.files import npz_path


def _model(seed=0):
    net = MLP([3, 5, 2], "tanh", "softmax", "ce", seed=seed)
    net.params[:] += np.random.default_rng(seed).normal(size=net.num_params)
    return net


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _model_arrays(net, **override):
    arrays = dict(sizes=np.array(net.sizes, dtype=np.int64), hidden=np.array(net.hidden),
                  output=np.array(net.output), loss=np.array(net.loss), params=net.params)
    arrays.update(override)
    return arrays


# -- 16.1: atomic saves ------------------------------------------------------------------------


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_mid_save_leaves_the_old_file_loadable_and_unchanged(tmp_path, monkeypatch,
                                                                       error):
    path = tmp_path / "m.npz"
    old = _model(0)
    old.save(path)
    before = path.read_bytes()
    written = []
    real = np.lib.format.write_array

    def failing_write_array(fp, array, *args, **kwargs):
        # the first members go out, then the disk fills up (or Ctrl-C) mid-file
        if len(written) == 2:
            raise error
        written.append(array)
        return real(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(type(error)):
        _model(1).save(path)
    monkeypatch.undo()
    assert len(written) == 2                                  # it really failed mid-file
    assert path.read_bytes() == before                        # byte-identical
    np.testing.assert_array_equal(MLP.load(path).params, old.params)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]   # no temp file left


def test_a_failed_fsync_is_a_failed_save(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    _model(0).save(path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        _model(1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before


def test_a_save_replaces_the_old_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "m.npz"
    _model(0).save(path)
    os.chmod(path, 0o640)
    new = _model(1)
    assert new.save(path) == str(path)
    np.testing.assert_array_equal(MLP.load(path).params, new.params)
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_nan_payloads_and_subnormals_round_trip_bit_for_bit(tmp_path):
    net = _model()
    bits = net.params.view(np.uint64)
    bits[0] = 0x7FF8_0000_DEAD_BEEF                  # a NaN with a payload
    bits[1] = 0xFFF0_0000_0000_0001                  # a signalling NaN, negative
    bits[2] = 0x0000_0000_0000_0001                  # the smallest subnormal
    net.params[3] = -0.0
    assert MLP.load(net.save(tmp_path / "m.npz")).params.tobytes() == net.params.tobytes()


# -- 16.3: the path written is the path given ----------------------------------------------


@pytest.mark.parametrize("given,written", [("model.txt", "model.txt"), ("m.npz", "m.npz"),
                                           ("model", "model.npz"), ("a.b.c", "a.b.c")])
def test_the_path_written_is_the_path_given(tmp_path, given, written):
    net = _model()
    assert net.save(tmp_path / given) == str(tmp_path / written)
    assert sorted(p.name for p in tmp_path.iterdir()) == [written]
    np.testing.assert_array_equal(MLP.load(tmp_path / written).params, net.params)


@pytest.mark.parametrize("given", ["dir/", "existing"])
def test_a_directory_is_not_a_save_target(tmp_path, given):
    (tmp_path / "existing").mkdir()
    (tmp_path / "dir").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        _model().save(os.path.join(tmp_path, given))
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError, match="is a directory"):
        npz_path("")


# -- 16.4 and 16.7: hostile model files ----------------------------------------------------


def test_a_2kb_file_claiming_20000_wide_layers_is_refused_at_once(tmp_path):
    path = tmp_path / "huge.npz"
    path.write_bytes(_npz_bytes(**_model_arrays(_model(), sizes=np.array([2, 20000, 20000, 2]),
                                                params=np.zeros(82))))
    assert path.stat().st_size < 2048
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="params has 82 entries.*need 400,120,002"):
        MLP.load(path)
    assert time.perf_counter() - t0 < 0.1


def test_a_header_claiming_terabytes_is_refused_before_reading(tmp_path):
    # sizes and params agree, but params' header claims 8 TB while the file holds 2 KB
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12 + 5 * 10**6 + 1,)})
    sizes = np.array([2, 1000000, 1000000, 1])
    with zipfile.ZipFile(tmp_path / "claim.npz", "w") as z:
        for key, a in _model_arrays(_model(), sizes=sizes).items():
            if key != "params":
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(a))
                z.writestr(key + ".npy", buf.getvalue())
        z.writestr("params.npy", header.getvalue() + b"\0" * 1024)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="stores 1.0 KiB: the file is truncated"):
        MLP.load(tmp_path / "claim.npz")
    assert time.perf_counter() - t0 < 0.1


def _hostile_files(tmp_path):
    net = _model()
    good = _npz_bytes(**_model_arrays(net))
    arr = _model_arrays(net)
    cases = {
        "random.npz": (os.urandom(2048), "not a .npz"),
        "empty.npz": (b"", "empty"),
        "truncated.npz": (good[:len(good) // 2], "not a readable .npz"),
        "tail-cut.npz": (good[:-30], "not a readable .npz"),
        "array.npy": (None, "single .npy array"),
        "float-sizes.npz": (_npz_bytes(**dict(arr, sizes=np.array([2.7, 16.2, 2.9]))),
                            "sizes must be a 1-D array of 2 to 1024 integers"),
        "2d-sizes.npz": (_npz_bytes(**dict(arr, sizes=np.array([[3, 5, 2]]))),
                         "sizes must be a 1-D array"),
        "scalar-sizes.npz": (_npz_bytes(**dict(arr, sizes=np.array(3))),
                             "sizes must be a 1-D array"),
        "2d-params.npz": (_npz_bytes(**dict(arr, params=np.zeros((4, 8)))),
                          "params must be a 1-D float64"),
        "zero-sizes.npz": (_npz_bytes(**dict(arr, sizes=np.array([3, 0, 2]))),
                           "layer widths must be positive"),
        "object.npz": (_npz_bytes(**dict(arr, sizes=np.array([3, 5, 2], dtype=object))),
                       "Python objects"),
        "int-params.npz": (_npz_bytes(**dict(arr, params=np.zeros(32, dtype=np.int64))),
                           "params must be a 1-D float64"),
        "short-params.npz": (_npz_bytes(**dict(arr, params=np.zeros(31))),
                             "params has 31 entries, the sizes \\[3, 5, 2\\] need 32"),
        "bad-name.npz": (_npz_bytes(**dict(arr, hidden=np.array("softplus"))), "hidden"),
        "number-name.npz": (_npz_bytes(**dict(arr, loss=np.array(3.0))), "loss must be a short"),
        "missing.npz": (_npz_bytes(params=net.params), "missing keys"),
    }
    paths = {}
    for name, (data, match) in cases.items():
        if name == "array.npy":
            np.save(tmp_path / name, net.params)
        else:
            (tmp_path / name).write_bytes(data)
        paths[name] = (tmp_path / name, match)
    with zipfile.ZipFile(tmp_path / "text-member.npz", "w") as z:
        z.writestr("sizes.txt", "3,5,2")
    paths["text-member.npz"] = (tmp_path / "text-member.npz", "is not an array")
    (tmp_path / "a-dir.npz").mkdir()
    paths["a-dir.npz"] = (tmp_path / "a-dir.npz", "is a directory")
    paths["nowhere.npz"] = (tmp_path / "nowhere.npz", "no such file")
    return paths


def test_every_hostile_model_file_gets_its_own_one_line_error(tmp_path):
    for name, (path, match) in _hostile_files(tmp_path).items():
        with pytest.raises(ValueError, match=match) as info:
            MLP.load(path)
        text = str(info.value)
        assert text.startswith(str(path)), name
        assert "\n" not in text and "pickle=True" not in text, name


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, 10_000), flips=st.lists(st.tuples(st.integers(0, 10_000),
                                                             st.integers(1, 255)), max_size=3))
def test_damaged_model_files_load_exactly_or_get_a_value_error(tmp_path_factory, cut, flips):
    net = _model()
    data = bytearray(_npz_bytes(**_model_arrays(net)))
    for pos, x in flips:
        data[pos % len(data)] ^= x
    data = bytes(data[:len(data) - cut % len(data)] if cut % 3 else data)
    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    path.write_bytes(data)
    try:
        back = MLP.load(path)
    except ValueError as exc:
        assert "\n" not in str(exc) and "pickle=True" not in str(exc)
        return
    # what loads is the model itself: the zip's CRC covers every member's bytes
    assert (back.sizes, back.hidden, back.output, back.loss) == (net.sizes, net.hidden,
                                                                 net.output, net.loss)
    np.testing.assert_array_equal(back.params, net.params)


def test_a_network_too_large_for_memory_is_refused_with_the_figure(monkeypatch):
    with pytest.raises(ValueError, match=r"1,000,006,000,002 parameters\) needs 7.3 TiB"):
        MLP([2, 1000000, 1000000, 2])
    monkeypatch.setattr(validate_module, "available_memory", lambda: 1000)
    with pytest.raises(ValueError, match="needs 1.0 KiB of memory; this machine has 1000 bytes"):
        MLP([10, 10, 2])                     # 132 parameters, 1056 bytes
    MLP([10, 10, 1])                         # 121 parameters, 968 bytes: fits


# -- 16.6 and 16.7: data files --------------------------------------------------------------


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_integer_labels_with_negatives_are_classes_renumbered_in_order(tmp_path):
    X = np.arange(40.0).reshape(20, 2)
    T = np.array([-1, 0] * 10)
    (a, ta), (b, tb), K = load_arrays(_write(tmp_path / "d.npz", X=X, T=T))
    assert K == 2 and ta.dtype.kind == "i"
    # each example keeps its label: -1 -> class 0, 0 -> class 1
    for Xs, Ts in ((a, ta), (b, tb)):
        np.testing.assert_array_equal(Ts, (Xs[:, 0] // 2 % 2).astype(int))
    (_, t2), _, K2 = load_arrays(_write(tmp_path / "h.npz", X=X, T=np.array([-1, 1] * 10)))
    assert K2 == 2 and set(t2) == {0, 1}


@pytest.mark.parametrize("big", [10**6, 10**9])
def test_a_label_far_beyond_the_classes_is_refused(tmp_path, big):
    T = np.array([0, 1, 2] * 5 + [big])
    path = _write(tmp_path / "d.npz", X=np.zeros((16, 2)), T=T)
    with pytest.raises(ValueError, match=f"class label {big} is far beyond the 4 distinct"):
        load_arrays(path)
    # as a regression target it is a number like any other
    (_, t), _, K = load_arrays(path, targets="values", val_fraction=0.25)
    assert K is None and t.dtype == np.float64
    # labels with gaps, but not far ones, stay indices
    (_, t3), _, K3 = load_arrays(_write(tmp_path / "g.npz", X=np.zeros((6, 2)),
                                        T=np.array([0, 5, 0, 5, 0, 5])))
    assert K3 == 6 and set(t3) <= {0, 5}


def test_hostile_data_files_get_one_line_errors(tmp_path):
    (tmp_path / "r.npz").write_bytes(os.urandom(1000))
    (tmp_path / "r.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "d.csv").mkdir()
    (tmp_path / "d.npz").mkdir()
    np.save(tmp_path / "a.npy", np.zeros(3))
    (tmp_path / "e.csv").write_text("")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")        # endless: it hung, reading
    os.mkfifo(tmp_path / "pipe.npz")                        # opening it waited for a writer
    good = _npz_bytes(X=np.zeros((5, 2)), T=np.zeros(5))
    (tmp_path / "t.npz").write_bytes(good[:-40])
    with zipfile.ZipFile(tmp_path / "claim.npz", "w") as z:
        h = io.BytesIO()
        np.lib.format.write_array_header_1_0(h, {"descr": "<f8", "fortran_order": False,
                                                 "shape": (10**9, 1000)})
        z.writestr("X.npy", h.getvalue())
        z.writestr("T.npy", h.getvalue() + b"\0" * 64)
    for name, match in [("r.npz", "not a .npz"), ("r.csv", "cannot read as CSV|expected rows"),
                        ("d.csv", "is a directory"), ("d.npz", "is a directory"),
                        ("a.npy", "unknown file type"), ("e.csv", "expected rows"),
                        ("t.npz", "not a readable"), ("claim.npz", "claims shape"),
                        ("nope.csv", "no such file"), ("zero.csv", "not a regular file"),
                        ("pipe.npz", "not a regular file")]:
        with pytest.raises(ValueError, match=match) as info:
            load_arrays(tmp_path / name)
        assert "\n" not in str(info.value) and "pickle=True" not in str(info.value)
