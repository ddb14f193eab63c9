"""The layout shows the architecture: the apps form a layered graph, ``inference/`` stands alone.

Imports are read with :mod:`ast`, at module level and inside functions alike (a lazy import is
still a dependency). Imports under ``if TYPE_CHECKING:`` are left out: they never run, so they
cannot make an import cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

from tests.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "oncology_ui"
INFERENCE = REPO_ROOT / "inference"

# The layers, lowest first: an app may import its own layer's apps only where listed as an edge,
# and never an app of a higher layer. The cycle test below is the rule; this is the picture.
LAYERS = (
    ("core",),
    ("patients",),
    ("clinical", "pathology", "imaging"),
    ("analysis",),
    ("therapies", "trials"),
    ("boards",),
    ("reports",),
    ("casepage", "demodata"),
)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, name: str | None = None) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports, with its line, wherever the import statement stands.

    ``name`` is the file's dotted module name (relative imports resolve against it); by default
    the name its place in the checkout gives it.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (name or _module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]

    def visit(node: ast.AST) -> Iterator[tuple[str, int]]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.orelse:
                yield from visit(statement)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if node.module:
                yield module, node.lineno
            for alias in node.names:  # ``from oncology_ui import patients`` names a package
                yield f"{module}.{alias.name}", node.lineno
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(tree)


def _app_of(module: str) -> str | None:
    """``oncology_ui.<app>....`` -> ``<app>``; the project modules (settings, urls) -> None."""
    parts = module.split(".")
    if parts[0] != "oncology_ui" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() else None


def app_graph() -> dict[str, dict[str, list[str]]]:
    """App -> app it imports -> where (``file:line``), every file of the app included."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _app_of(_module_name(path))
        if source is None:
            continue
        edges = graph.setdefault(source, {})
        for module, line in imported_modules(path):
            target = _app_of(module)
            if target is not None and target != source:
                where = f"{path.relative_to(REPO_ROOT)}:{line}"
                edges.setdefault(target, [])
                if where not in edges[target]:
                    edges[target].append(where)
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of the graph as ``[a, b, ..., a]``, or None when it is a DAG."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, {})):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_apps_import_each_other_without_a_cycle() -> None:
    graph = app_graph()
    cycle = find_cycle(graph)
    if cycle is not None:
        hops = [f"  {a} -> {b}: {', '.join(graph[a][b][:3])}" for a, b in pairwise(cycle)]
        raise AssertionError("import cycle " + " -> ".join(cycle) + "\n" + "\n".join(hops))


def test_every_app_sits_in_a_layer_and_imports_only_its_own_or_lower_layers() -> None:
    layer_of = {app: n for n, apps in enumerate(LAYERS) for app in apps}
    apps = {path.parent.name for path in PACKAGE.glob("*/apps.py")}
    assert apps == set(layer_of), "every app is placed in LAYERS"
    upward = [
        f"{source} -> {target}: {', '.join(where[:3])}"
        for source, edges in app_graph().items()
        for target, where in edges.items()
        if layer_of[target] > layer_of[source]
    ]
    assert upward == []


def test_inference_never_imports_django_or_the_web_app() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {module}"
        for path in sorted(INFERENCE.rglob("*.py"))
        for module, line in imported_modules(path)
        if module.split(".")[0] in {"django", "oncology_ui"}
    ]
    assert offenders == []


def test_the_cycle_finder_names_a_cycle() -> None:
    graph = {"a": {"b": ["x.py:1"]}, "b": {"c": ["y.py:2"]}, "c": {"a": ["z.py:3"]}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": []}, "b": {}}) is None


def test_imports_inside_functions_count_and_type_only_imports_do_not(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from oncology_ui.reports import data\n"
        "def f():\n"
        "    from oncology_ui.patients.models import Case\n"
        "from . import jobs\n"
    )
    found = {module for module, _ in imported_modules(probe, "oncology_ui.core.probe")}
    assert {"oncology_ui.patients.models", "oncology_ui.core.jobs"} <= found
    assert not any(module.startswith("oncology_ui.reports") for module in found)
