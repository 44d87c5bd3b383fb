"""Issue 16 (threads): every compiled kernel releases the GIL, so that threads training
different networks run on different cores. A kernel without ``nogil=True`` would serialise a
sweep silently; this scan names it. (The timing itself is tested in test_train_safety.py.)"""

import ast
from pathlib import Path

import scalarprop

PACKAGE = Path(scalarprop.__file__).resolve().parent
NUMBA_DECORATORS = {"njit", "jit"}


def kernels_holding_the_gil(source: str, filename: str = "<source>") -> list[str]:
    """The functions decorated ``@njit(...)``/``@jit(...)`` (or bare ``@njit``) without
    ``nogil=True``."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            target = call.func if call else dec
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id",
                                                                                  None)
            if name not in NUMBA_DECORATORS:
                continue
            nogil = call is not None and any(
                k.arg == "nogil" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords)
            if not nogil:
                found.append(f"{filename}:{node.lineno} {node.name}")
    return found


def test_every_kernel_in_the_package_releases_the_gil():
    holding = []
    for path in sorted(PACKAGE.rglob("*.py")):
        holding += kernels_holding_the_gil(path.read_text(), str(path.relative_to(PACKAGE)))
    assert holding == []


def test_the_scan_finds_a_kernel_that_holds_the_gil():
    source = (
        "from numba import njit\nimport numba\n"
        "@njit(cache=True)\ndef a(x):\n    return x\n"
        "@njit\ndef b(x):\n    return x\n"
        "@numba.njit(nogil=False)\ndef c(x):\n    return x\n"
        "@njit(cache=True, nogil=True)\ndef d(x):\n    return x\n"
    )
    assert [f.split()[1] for f in kernels_holding_the_gil(source)] == ["a", "b", "c"]
