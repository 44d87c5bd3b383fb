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


def private_writes(source: str, module: str) -> list[str]:
    """Every ``obj._name = ...`` (or ``+=``) in ``source`` where ``obj`` is not ``self`` or
    ``cls`` and ``_name`` is not an attribute the enclosing class sets on its own ``self``:
    one class writing another's private state."""
    tree = ast.parse(source)
    found = []

    def own_attributes(cls: ast.ClassDef) -> set[str]:
        names = set()
        for node in ast.walk(cls):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id == "self":
                names.add(node.attr)
        return names

    def visit(node: ast.AST, allowed: set[str]) -> None:
        if isinstance(node, ast.ClassDef):
            allowed = own_attributes(node)
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and is_private(t.attr) and \
                        not (isinstance(t.value, ast.Name) and t.value.id in ("self", "cls")) \
                        and t.attr not in allowed:
                    found.append(f"{module}:{t.lineno}: {ast.unparse(t)} =")
        for child in ast.iter_child_nodes(node):
            visit(child, allowed)

    visit(tree, set())
    return found


def test_no_module_writes_another_class_s_private_attribute():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found += private_writes(path.read_text(encoding="utf-8"), module)
    assert not found, "private attributes written from outside their class:\n" + \
        "\n".join(found)


def test_the_write_scan_allows_a_class_its_own_attributes_only():
    source = ("class MLP:\n"
              "    def __init__(self):\n"
              "        self._params = 0\n"
              "    def copy(self):\n"
              "        new = MLP.__new__(MLP)\n"
              "        new._params = self._params\n"          # its own kind: allowed
              "        return new\n"
              "class Op:\n"
              "    def apply(self, opnode):\n"
              "        opnode._outputs = ()\n"                # another class's: found
              "def step(p):\n"
              "    p._grad = None\n")                         # outside any class: found
    assert private_writes(source, "m") == ["m:10: opnode._outputs =", "m:12: p._grad ="]
