"""Read a checkout's imports with :mod:`ast`, for the tests that keep its layers apart.

Imports count at module level and inside functions alike (a lazy import is still a dependency).
Imports under ``if TYPE_CHECKING:`` never run, so they cannot make an import cycle: they are left
out unless the caller asks for them (a forbidden module stays forbidden even for the type checker).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from tests.paths import REPO_ROOT

Where = TypeVar("Where")


def module_name(path: Path) -> str:
    """``inference/models/__init__.py`` -> ``inference.models``, relative to the checkout."""
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def python_files(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root``, sorted, byte-code caches left out."""
    return sorted(path for path in root.rglob("*.py") if "__pycache__" not in path.parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(
    path: Path, name: str | None = None, *, type_checking: bool = False
) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports, with its line, wherever the import statement stands.

    ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be a module or a name). ``name`` is the
    file's dotted module name (relative imports resolve against it); by default the name its place
    in the checkout gives it. ``type_checking`` also reads the ``if TYPE_CHECKING:`` blocks.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (name or module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]

    def visit(node: ast.AST) -> Iterator[tuple[str, int]]:
        if isinstance(node, ast.If) and not type_checking and _is_type_checking(node.test):
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


def find_cycle(graph: Mapping[str, Mapping[str, Where]]) -> list[str] | None:
    """One cycle of the graph as ``[a, b, ..., a]``, or None when it is a DAG.

    ``graph`` maps a node to the nodes it imports, each with where (any value; not read here).
    """
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
