"""The kernel cache follows the sources: an edit to functions.py is seen by the next run.

Oracle: the gradient a fresh process prints before and after editing the sigmoid derivative in
a copy of the package. Numba's own cache would load the old kernel (it checks only the
kernel's own file, engines/scalar.py, which the edit does not touch).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import scalarprop

PROGRAM = """
import numpy as np
from scalarprop import MLP, jit
from scalarprop.engines import scalar
net = MLP((2, 3, 1), seed=0)
X = np.array([[0.5, -1.0]]); T = np.array([[0.25]])
print(jit.is_warm(("engines/scalar",)), jit.cache_dir())
print(repr(scalar.loss_and_grad(net, X, T)[1].tolist()))
"""


def copy_package(tmp_path: Path) -> Path:
    source = Path(scalarprop.__file__).parent
    shutil.copytree(source, tmp_path / "scalarprop",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    return tmp_path / "scalarprop"


def run(root: Path, cache: Path | None) -> tuple[bool, Path, str]:
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(root)
    env.pop("NUMBA_DISABLE_JIT", None)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, cwd=root, check=True,
                         capture_output=True, text=True, timeout=300).stdout.splitlines()
    warm, folder = out[0].split(" ", 1)
    return warm == "True", Path(folder), out[1]


def edit_sigmoid_derivative(package: Path) -> None:
    path = package / "functions.py"
    text = path.read_text()
    assert "return h * (1.0 - h)" in text
    path.write_text(text.replace("return h * (1.0 - h)", "return h * (1.0 + h)"))


@pytest.mark.parametrize("use_cache_dir", [False, True], ids=["in-tree", "NUMBA_CACHE_DIR"])
def test_an_edit_to_functions_is_compiled(tmp_path, use_cache_dir):
    package = copy_package(tmp_path)
    cache = tmp_path / "numba-cache" if use_cache_dir else None

    warm, folder, before = run(tmp_path, cache)
    assert not warm
    warm_again, folder_again, again = run(tmp_path, cache)
    assert warm_again and folder_again == folder and again == before  # the cache is used

    edit_sigmoid_derivative(package)
    warm_edited, folder_edited, edited = run(tmp_path, cache)
    assert not warm_edited and folder_edited != folder
    assert edited != before  # the edited derivative ran

    # NUMBA_CACHE_DIR, when set, decides where the cache lives; else the package's __pycache__
    parent = cache if use_cache_dir else package / "__pycache__"
    assert parent in folder.parents and parent in folder_edited.parents
    assert any(folder_edited.rglob("*.nbc"))
