"""Where the compiled kernels are cached: a folder keyed on the sources they come from.

Numba's own cache checks a kernel only against the file it is written in. A kernel in
``engines/scalar.py`` calls ``activate_grad`` from ``functions.py``; edit that function and
Numba would load the old machine code, silently. This module gives every ``@njit(cache=True)``
function of the package a cache folder named by a hash of the sources the kernels are compiled
from: the modules that define kernels and every package module they import, transitively. Any
edit to one of them selects a new, empty folder, so the next run compiles the edited code.

Where the folders live: under ``NUMBA_CACHE_DIR`` when it is set (``<dir>/scalarprop/<hash>``),
else in the package's ``__pycache__/numba-<hash>``, else (read-only install) in the user's
cache directory. :func:`cache_dir` says which; :func:`is_warm` says whether the kernels for the
current sources are already there (so a first run can say it is compiling).

Import this module before any ``@njit(cache=True)`` decorator runs: the kernel modules import
it on their first line for that reason. Functions outside the package are left to Numba.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from numba.core import caching, config
from numba.misc.appdirs import AppDirs

PACKAGE_DIR = Path(__file__).resolve().parent
#: a module that defines kernels: a numba decorator at the start of a line
KERNEL_DECORATOR = re.compile(rb"^@(?:numba\.)?(?:njit|jit|vectorize|guvectorize|cfunc)\b",
                              re.MULTILINE)
HASH_LENGTH = 16
#: in-tree cache folders kept besides the current one (older ones are removed)
KEEP_OLD = 3
OLD_AGE_SECONDS = 3600.0


def package_module_path(dotted: str) -> list[Path]:
    """The files of a package module ``scalarprop.a.b``: ``a/b.py`` or ``a/b/__init__.py``."""
    parts = dotted.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    found = [path for path in (base.with_suffix(".py"), base / "__init__.py") if path.is_file()]
    return found


def imported_modules(path: Path) -> set[Path]:
    """The package's own modules that ``path`` imports (relative or absolute imports)."""
    parts = ["scalarprop", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    # the package a relative import starts from: the module's own for __init__.py
    package = parts[:-1]
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join(anchor + ([node.module] if node.module else []))
            # ``from .. import functions`` depends on functions.py, not on the package's
            # __init__.py; ``from .scalar import forward`` on scalar.py
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            dotted = [name for name in submodules if package_module_path(name)] or [base]
        else:
            continue
        for name in dotted:
            if name.startswith("scalarprop."):
                found.update(package_module_path(name))
    return found


def kernel_sources() -> list[Path]:
    """The modules that define kernels, and every package module they import (transitively)."""
    todo = [path for path in sorted(PACKAGE_DIR.rglob("*.py"))
            if KERNEL_DECORATOR.search(path.read_bytes())]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(imported_modules(path) - seen)
    return sorted(seen)


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """A hash of the kernel sources (their paths inside the package and their bytes).

    Computed once per process: a running program keeps the kernels it has compiled.
    """
    digest = hashlib.sha256()
    for path in kernel_sources():
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:HASH_LENGTH]


def writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and takes a file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def remove_old(parent: Path, current: Path) -> None:
    """Remove all but the newest few old in-tree cache folders (each edit leaves one)."""
    old = [path for path in parent.glob("numba-*") if path.is_dir() and path != current]
    old.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for path in old[KEEP_OLD:]:
        # a folder in use by a program still running stays; an hour is plenty
        if time.time() - path.stat().st_mtime > OLD_AGE_SECONDS:
            shutil.rmtree(path, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def cache_dir() -> Path:
    """The folder that holds the compiled kernels for the current sources.

    ``NUMBA_CACHE_DIR`` decides when it is set; else the package's ``__pycache__``; else (a
    read-only install) the user's cache directory.
    """
    key = source_hash()
    if config.CACHE_DIR:
        return Path(config.CACHE_DIR) / "scalarprop" / key
    in_tree = PACKAGE_DIR / "__pycache__" / f"numba-{key}"
    if in_tree.is_dir() or writable(in_tree):
        if not any(in_tree.iterdir()):
            remove_old(in_tree.parent, in_tree)
        return in_tree
    return Path(AppDirs(appname="scalarprop", appauthor=False).user_cache_dir) / "numba" / key


def is_warm(modules: tuple[str, ...] = ("engines/scalar", "engines/scalar_fast")) -> bool:
    """Whether every listed kernel module (a path in the package, no ``.py``) has compiled
    kernels cached for the current sources, i.e. the next call will not compile them."""
    root = cache_dir()
    for module in modules:
        folder, name = os.path.split(module)
        if not any((root / folder).glob(f"{name}.*.nbc")):
            return False
    return True


class SourceHashLocator(caching.UserProvidedCacheLocator):
    """Numba cache locator for the package's kernels: one folder per source hash.

    A kernel's file is still checked by Numba (its own stamp); the folder adds the files it
    calls into. The folder mirrors the package's layout (``engines/`` etc.).
    """

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        inside = Path(py_file).resolve().parent.relative_to(PACKAGE_DIR)
        self._cache_path = str(cache_dir() / inside)

    def get_cache_path(self):
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file):
        path = Path(py_file).resolve()
        if not path.is_file() or PACKAGE_DIR not in path.parents:
            return None  # not ours: Numba's own locators decide
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


def register() -> None:
    """Put the locator first in Numba's list (once): it answers only for this package."""
    locators = caching.CacheImpl._locator_classes
    if SourceHashLocator not in locators:
        locators.insert(0, SourceHashLocator)


register()
