"""The layers of ``inference/``: no import cycle between its parts, and nothing above it imported.

A *part* is a subpackage (``inference/models``) or a top-level module (``inference/predictor.py``);
``inference/__init__.py`` is the part ``inference``. Every import statement counts, module-level or
inside a function (a function-level import is still a dependency, only a later one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INFERENCE = ROOT / "inference"
FORBIDDEN = ("django", "oncology_ui")


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: Path) -> Iterator[tuple[str, int]]:
    """Every absolute module name ``path`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path)[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module, node.lineno
            for alias in node.names:
                yield f"{module}.{alias.name}", node.lineno


def _part(module: str) -> str | None:
    """The part of ``inference`` a module name belongs to, ``None`` outside it."""
    parts = module.split(".")
    if parts[0] != "inference":
        return None
    if len(parts) == 1:
        return "inference"
    child = parts[1]
    if (INFERENCE / child).is_dir() or (INFERENCE / f"{child}.py").is_file():
        return child
    return "inference"  # a name defined in inference/__init__.py (``from inference import x``)


def _files() -> list[Path]:
    return sorted(p for p in INFERENCE.rglob("*.py") if "__pycache__" not in p.parts)


def _graph() -> dict[str, dict[str, str]]:
    """part -> {imported part: first place it is imported}."""
    graph: dict[str, dict[str, str]] = {}
    for path in _files():
        source = _part(".".join(_module_name(path)))
        assert source is not None
        edges = graph.setdefault(source, {})
        for module, line in _imported(path):
            target = _part(module)
            if target is not None and target != source:
                edges.setdefault(target, f"{path.relative_to(ROOT)}:{line}")
    return graph


def _cycle(graph: dict[str, dict[str, str]]) -> list[str]:
    """One import cycle as a list of parts (first == last), or ``[]``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_graph_sees_the_known_layers() -> None:
    graph = _graph()
    assert "models" in graph["predictor"] and "explain" in graph["predictor"]
    assert "predictor" in graph["inference"]  # a function-level import in load_model


def test_inference_parts_have_no_import_cycle() -> None:
    graph = _graph()
    cycle = _cycle(graph)
    where = [graph[a][b] for a, b in zip(cycle, cycle[1:], strict=False)]
    assert cycle == [], " -> ".join(cycle) + "\n" + "\n".join(where)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b": "x"}, "b": {"c": "y"}, "c": {"a": "z"}, "d": {"a": "w"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b": "x"}, "b": {}}) == []


def test_inference_never_imports_django_or_the_app() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _files()
        for module, line in _imported(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []
