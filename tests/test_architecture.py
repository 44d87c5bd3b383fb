"""The package's architecture rules that import-linter does not express: no module imports a
private (underscore) name from another module."""

from __future__ import annotations

import ast
from pathlib import Path

import scalarprop

PACKAGE = Path(scalarprop.__file__).parent


def private_imports(source: str, module: str) -> list[str]:
    """In ``source`` (the code of ``module``, dotted), every ``from X import _name``, and every
    ``Y._name`` where ``Y`` was imported from scalarprop (a module, class or function), as
    "module: what". Dunders such as ``__all__`` are public. Private names of other packages
    (``argparse._SubParsersAction`` in a type hint) are not scalarprop's to change."""
    tree = ast.parse(source)
    found = []
    ours: set[str] = set()          # local names bound to something imported from scalarprop
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            internal = node.level > 0 or (node.module or "").split(".")[0] == "scalarprop"
            for alias in node.names:
                if is_private(alias.name):
                    found.append(f"{module}: from {'.' * node.level}{node.module or ''} "
                                 f"import {alias.name}")
                elif internal:
                    ours.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "scalarprop":
                    ours.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and \
                isinstance(node.value, ast.Name) and node.value.id in ours:
            found.append(f"{module}: {node.value.id}.{node.attr}")
    return found


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_imports_a_private_name_from_another_module():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found += private_imports(path.read_text(encoding="utf-8"), module)
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_private_import():
    source = ("from .reductions import _pick, pick\n"
              "from . import graph as _graph\n"
              "import numpy as np\n"
              "from .core import __all__, TensorNode\n"
              "import scalarprop.train as tr\n"
              "x = np._private_helper\n"          # numpy's business
              "y = _graph._store\n"
              "node._grad = TensorNode._grad\n"
              "z = tr._progress_bar\n"
              "w = self._grad\n")                 # a class's own attribute
    assert private_imports(source, "m") == [
        "m: from .reductions import _pick",
        "m: _graph._store",
        "m: TensorNode._grad",
        "m: tr._progress_bar",
    ]
