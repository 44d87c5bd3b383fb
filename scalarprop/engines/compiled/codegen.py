"""The second back end: the program as straight-line Python (the readable source of
:mod:`source`), compiled by Numba, for small graphs.

No tape, no dispatch on op codes: each operation is a line of code, and LLVM sees the whole
function. The price is a Numba compile per function (about a second), so the module is written
to disk under a hash of its source, which is a hash of the graph, and Numba caches its machine
code beside it: the same function compiles once per machine, not once per process.

Where: ``$SCALARPROP_CODEGEN_DIR``, else ``~/.cache/scalarprop/codegen``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np
from numba.core import caching, config

from . import tape
from .program import Program
from .source import PRELUDE, render, render_forward

#: larger graphs are left to the tape: straight-line code grows with the graph, and so does
#: the time Numba takes to compile it
MAX_OPS = 64

JIT = '''
from numba import njit

sigmoid = njit(cache=True, error_model="numpy")(sigmoid)
sign = njit(cache=True, error_model="numpy")(sign)
'''


def cache_dir() -> Path:
    root = os.environ.get("SCALARPROP_CODEGEN_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scalarprop" / \
        "codegen"


def module_source(p: Program) -> str:
    """The whole module: helpers, ``f`` (the value) and ``f_grad`` (value and gradients of
    every argument), both compiled. Arguments are ``a0, a1, ...``: no name of the user's can
    shadow a helper."""
    names = [f"a{j}" for j in range(len(p.sizes))]
    need = np.zeros(p.num_slots, dtype=bool)
    need[:p.offsets[-1]] = True
    tape.dependence(p.ins, p.runs, p.first, need)     # the tape's: a comparison is flat
    return (PRELUDE + JIT + "\n\n" + render_forward(p, names, "f") + "\n\n"
            + render(p, names, "f", need) + "\n\n"
            + 'f = njit(cache=True, error_model="numpy")(f)\n'
            + 'f_grad = njit(cache=True, error_model="numpy")(f_grad)\n')


def module_path(source: str) -> Path:
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    return cache_dir() / f"sp_graph_{digest}.py"


def is_cached(p: Program) -> bool:
    """Is this graph's module on disk with Numba's machine code beside it?"""
    path = module_path(module_source(p))
    if config.CACHE_DIR:        # where Numba puts the index when NUMBA_CACHE_DIR is set
        cache = Path(config.CACHE_DIR) / \
            caching.UserProvidedCacheLocator.get_suitable_cache_subpath(str(path))
    else:
        cache = path.parent / "__pycache__"
    return path.is_file() and cache.is_dir() and \
        any(cache.glob(f"{path.stem}.f_grad-*.nbi"))


def load(p: Program) -> ModuleType:
    """The compiled module of this graph, written first if it is not on disk."""
    source = module_source(p)
    path = module_path(source)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        # written whole, then renamed: another process never imports half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    # the same graph in another cache folder is another module (Numba finds a function's
    # globals through sys.modules, so it is registered there, under a name of its own)
    name = f"{path.stem}_{hashlib.sha256(str(path.parent).encode()).hexdigest()[:8]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
