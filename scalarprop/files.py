"""Files that keep their promises: atomic saves (``.npz`` models, and every page, picture and
report a command writes), and ``.npz`` reads that check before they allocate.

A save writes a temporary file in the target's directory, flushes and fsyncs it, and only
then renames it over the target (``os.replace`` is atomic on POSIX and Windows): an
interrupt, a full disk or a crash mid-save leaves the previous file as it was.

A read trusts nothing in the file. It must be a zip of ``.npy`` members (never a pickle:
``allow_pickle=False`` always). Each member's header (dtype and shape) is read first and
checked by the caller, and its claimed size is checked against the bytes actually stored
and the memory available, before any array is allocated: a 2 KB file claiming a 20000×20000
matrix is refused in microseconds. Every failure is a one-line ``ValueError`` naming the
file.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from .validate import check_fits, format_bytes

#: what a damaged zip or .npy member can raise while being read
READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, KeyError,
               NotImplementedError, RuntimeError, OverflowError)


# -- saving ------------------------------------------------------------------------------------


def npz_path(path: str | os.PathLike, what: str = "save", suffix: str = ".npz") -> str:
    """The path a save writes: ``path`` itself, with ``suffix`` appended only when the name
    has no suffix. A directory (or a name ending in a separator) is refused."""
    try:
        p = os.fspath(path)
    except TypeError:
        raise ValueError(f"{what}: expected a file path, got {path!r}") from None
    if not isinstance(p, str):
        p = os.fsdecode(p)
    if p == "" or p.endswith(("/", os.sep)) or os.path.isdir(p):
        raise ValueError(f"{what} {p!r}: is a directory; give a file name such as "
                         f"{os.path.join(p or '.', 'model' + suffix)}")
    if os.path.splitext(os.path.basename(p))[1] == "":
        p += suffix
    return p


def check_writable(path: str | os.PathLike, what: str = "save", suffix: str = ".npz") -> str:
    """Refuse, before any work, a save that would fail: a directory that does not exist or
    cannot be written (probed by creating and removing a temporary file in it), or a target
    that is a directory. Returns the path a save will write (see :func:`npz_path`)."""
    p = npz_path(path, what, suffix)
    directory = os.path.dirname(p) or "."
    if not os.path.isdir(directory):
        raise ValueError(f"{what} {p!r}: the directory {directory!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".scalarprop-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"{what} {p!r}: cannot write in {directory!r} "
                         f"({exc.strerror or exc})") from None
    return p


def _new_file_mode(target: str) -> int:
    """The mode a plain ``open(target, "w")`` would give: the old file's, else 0666 minus the
    umask (read from /proc, because setting the umask to read it is not thread-safe)."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        pass
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Write the file ``path`` atomically: the block writes to a binary file object that is a
    temporary file beside ``path``; when the block ends normally the file is flushed, fsynced
    and renamed over ``path`` (keeping an old file's mode). When the block raises (a full disk,
    a failing writer, Ctrl-C), the temporary file goes and ``path`` is as it was."""
    target = os.fsdecode(path)
    directory = os.path.dirname(target) or "."
    mode = _new_file_mode(target)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        # KeyboardInterrupt too: the temporary file goes, the old target stays as it was
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as fh:
        fh.write(text.encode("utf-8"))


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> str:
    """Write ``arrays`` as an uncompressed ``.npz`` at ``path``, atomically (see the module
    docstring). Returns the path written (``.npz`` appended only when there is no suffix)."""
    target = npz_path(path)
    with atomic_write(target) as fh:
        np.savez(fh, **arrays)
    return target


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); where a directory cannot be opened, skip."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# -- reading -----------------------------------------------------------------------------------


class Member:
    """One ``.npy`` member of an ``.npz``: its name (without ``.npy``), dtype and shape as its
    header claims them, and the data bytes the zip actually stores for it."""

    def __init__(self, name: str, dtype: np.dtype, shape: tuple[int, ...],
                 stored: int) -> None:
        self.name, self.dtype, self.shape, self.stored = name, dtype, shape, stored

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class NpzReader:
    """An ``.npz`` opened for checked reading: ``members`` (name -> :class:`Member`) from the
    headers alone, then :meth:`read` one array at a time. Use as a context manager."""

    def __init__(self, path: str | os.PathLike, what: str = "file") -> None:
        self.path = os.fspath(path)
        self.what = what
        _check_is_zip(self.path, what)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except READ_ERRORS as exc:
            raise self.error(f"not a readable .npz ({_reason(exc)})") from None
        try:
            self.members = self._read_headers()
        except BaseException:
            self._zip.close()
            raise

    def error(self, message: str) -> ValueError:
        return ValueError(f"{self.path}: {message}")

    def _read_headers(self) -> dict[str, Member]:
        members: dict[str, Member] = {}
        for info in self._zip.infolist():
            if not info.filename.endswith(".npy"):
                raise self.error(f"not a {self.what}: member {info.filename!r} is not an array")
            name = info.filename[:-4]
            try:
                with self._zip.open(info) as fp:
                    version = np.lib.format.read_magic(fp)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
                    header = fp.tell()
            except READ_ERRORS as exc:
                raise self.error(f"member {name!r} is not a readable array "
                                 f"({_reason(exc)})") from None
            if dtype.hasobject:
                raise self.error(f"member {name!r} holds Python objects (dtype {dtype}); "
                                 "only plain numeric and text arrays are read, never pickles")
            members[name] = Member(name, dtype, tuple(shape), info.file_size - header)
        return members

    def read(self, name: str) -> np.ndarray:
        """The array ``name``, after checking that the file stores all its bytes and that
        it fits in memory."""
        m = self.members[name]
        if m.nbytes > m.stored:
            raise self.error(f"member {name!r} claims shape {m.shape} {m.dtype} "
                             f"({format_bytes(m.nbytes)}) but stores {format_bytes(m.stored)}: "
                             "the file is truncated or corrupt")
        check_fits(m.nbytes, f"{self.path}: member {name!r}")
        try:
            with self._zip.open(name + ".npy") as fp:
                return np.lib.format.read_array(fp, allow_pickle=False)
        except READ_ERRORS as exc:
            raise self.error(f"member {name!r} cannot be read ({_reason(exc)}); the file is "
                             "truncated or corrupt") from None

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # numpy's own messages may suggest allow_pickle=True: never pass that advice on
    return "unreadable data" if "pickle" in text.lower() else text


def _check_is_zip(path: str, what: str) -> None:
    """Tell a missing file, a directory, a ``.npy`` and plain junk apart, by the first
    bytes, before any parser sees them."""
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, not a {what}")
    if os.path.exists(path) and not os.path.isfile(path):
        # a pipe would block the open, a device (/dev/zero) never end
        raise ValueError(f"{path}: not a regular file, not a {what}")
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except FileNotFoundError:
        raise ValueError(f"{path}: cannot read {what} (no such file)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if head == b"\x93NUMPY":
        raise ValueError(f"{path}: a single .npy array, not a {what} (.npz)")
    if not head.startswith(b"PK"):
        kind = "empty" if not head else "not a .npz (zip) file"
        raise ValueError(f"{path}: {kind}; expected a {what} in .npz format")
