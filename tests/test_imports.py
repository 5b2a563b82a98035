"""Every module of ``autograd`` and ``nn`` imports on its own, and no two import each other.

An import circle works or breaks depending on which module happens to be imported
first, so it hides until someone imports a module in a new order. Two checks:

* each module is imported first in a fresh interpreter (the order a user's
  ``import nn.conv`` or ``from autograd.engine import ...`` gives);
* the module-level imports between the packages' modules, read with ``ast``
  (nothing is run), form no cycle. Imports inside functions are left out: they
  run after every module has loaded.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograd", "nn")


def _walk(path: Path, name: str) -> list[tuple[str, Path, bool]]:
    """(dotted name, file, is_package) for the package at ``path`` and all its modules,
    found on disk with pkgutil (nothing imported)."""
    found = [(name, path / "__init__.py", True)]
    for info in pkgutil.iter_modules([str(path)]):
        full = f"{name}.{info.name}"
        if info.ispkg:
            found += _walk(path / info.name, full)
        else:
            found.append((full, path / f"{info.name}.py", False))
    return found


MODULES = [m for package in PACKAGES for m in _walk(ROOT / package, package)]
NAMES = {name for name, _, _ in MODULES}


def test_the_walk_finds_the_modules():
    assert {"autograd.engine", "nn.functional", "nn.interop.onnx_export",
            "nn.optim.sgd", "nn.linear", "nn.linear_models"} <= NAMES


# ---- each module imported first, in a fresh interpreter ------------------------------

@pytest.mark.parametrize("module", sorted(NAMES))
def test_module_imports_first_in_a_fresh_interpreter(module):
    run = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        missing = re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", run.stderr)
        top = missing.group(1).split(".")[0] if missing else None
        if top and top not in PACKAGES and importlib.util.find_spec(top) is None:
            pytest.skip(f"{module} needs {top}, an optional dependency not installed here")
    assert run.returncode == 0, f"import {module} failed:\n{run.stderr[-3000:]}"


# ---- no cycle among the module-level imports -------------------------------------------

def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module loads: at the top, or inside a
    top-level if / try / with / class body (not a function; not ``if TYPE_CHECKING``)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _module_level_imports(node.body)
            found += _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for part in (node.body, node.orelse, node.finalbody,
                         *(h.body for h in node.handlers)):
                found += _module_level_imports(part)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            found += _module_level_imports(node.body)
    return found


def _edges(name: str, path: Path, is_package: bool) -> set[str]:
    """The modules of the packages that loading ``name`` imports directly.

    ``from P import n`` imports the submodule P.n when there is one (an edge to it),
    and otherwise takes the attribute n of P (an edge to P). Importing a module first
    runs its parent packages, but a package that is an ancestor of ``name`` is
    already loading then: it gets an edge only when a name is taken from it.
    """
    here = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _module_level_imports(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
            continue
        if node.level:
            base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        ancestor = name.startswith(source + ".")
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            if sub in NAMES:
                out.add(sub)
                if not ancestor:
                    out.add(source)
            else:
                out.add(source)
    return {m for m in out if m in NAMES and m != name}


GRAPH = {name: _edges(name, path, is_package) for name, path, is_package in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def _one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A concrete path a -> b -> ... -> a inside a component, for the error message."""
    members = set(component)
    path, seen = [component[0]], {component[0]}
    while True:
        nxt = min(w for w in graph[path[-1]] if w in members)
        if nxt in seen:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)
        seen.add(nxt)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert _one_cycle(graph, ["p.a", "p.b", "p.c"]) == ["p.a", "p.b", "p.c", "p.a"]


def test_the_graph_reads_relative_imports():
    assert {"nn.module", "nn._args", "nn.activations"} <= GRAPH["nn.layers"]
    assert "nn.functional" in GRAPH["nn.activations"]
    assert "nn.activations" in GRAPH["nn.interop.onnx_export"]  # from ..activations
    assert "nn.interop" in GRAPH["nn"] and "autograd" in GRAPH["nn.module"]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    found = [c for c in _cycles(GRAPH) if any(m.split(".")[0] == package for m in c)]
    shown = "\n".join(" -> ".join(_one_cycle(GRAPH, c)) for c in found)
    assert not found, (
        f"module-level imports that form a cycle in {package}:\n{shown}\n"
        "move what both sides need into a module that imports neither"
    )


# ---- the order of autograd/__init__.py's imports does not matter -----------------------

def _reordered_init(order: str) -> str:
    """autograd/__init__.py with its top-level ``from . ...`` imports moved to the front in
    another order (reversed, shuffled, or with ``from . import xp`` first)."""
    source = (ROOT / "autograd" / "__init__.py").read_text()
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 1]
    chunks = ["".join(lines[n.lineno - 1:n.end_lineno]) for n in imports]
    drop = {i for n in imports for i in range(n.lineno - 1, n.end_lineno)}
    rest = "".join(line for i, line in enumerate(lines) if i not in drop)
    if order == "reversed":
        chunks.reverse()
    elif order == "xp first":
        chunks.insert(0, "from . import xp\n")
    else:
        import random

        random.Random(order).shuffle(chunks)
    # the docstring and `from typing import Any` stay at the very top
    head, sep, tail = rest.partition("\nimport numpy as np\n")
    return head + sep + "".join(chunks) + tail


@pytest.mark.parametrize("order", ["reversed", "xp first", "shuffle-1", "shuffle-2"])
def test_import_autograd_whatever_the_order_of_its_init(order, tmp_path):
    import shutil

    shutil.copytree(ROOT / "autograd", tmp_path / "autograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "autograd" / "__init__.py").write_text(_reordered_init(order))
    code = ("import autograd as ag, numpy as np; "
            "x = ag.Tensor(np.ones(3), requires_grad=True); (x * x).sum().backward(); "
            "assert ag.__file__.startswith(%r) and x.grad.tolist() == [2.0, 2.0, 2.0]"
            % str(tmp_path))
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, f"import autograd with its imports {order}:\n{run.stderr[-3000:]}"
