"""The layers of ``inference/``: no import cycle between its parts, and nothing above it imported.

A *part* is a subpackage (``inference/models``) or a top-level module (``inference/predictor.py``);
``inference/__init__.py`` is the part ``inference``. Imports are read by :mod:`tests.import_graph`.
"""

from __future__ import annotations

from itertools import pairwise

from tests.import_graph import find_cycle, imported_modules, module_name, python_files
from tests.paths import REPO_ROOT

INFERENCE = REPO_ROOT / "inference"
FORBIDDEN = ("django", "oncology_ui")


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


def _graph() -> dict[str, dict[str, str]]:
    """part -> {imported part: first place it is imported}."""
    graph: dict[str, dict[str, str]] = {}
    for path in python_files(INFERENCE):
        source = _part(module_name(path))
        assert source is not None
        edges = graph.setdefault(source, {})
        for module, line in imported_modules(path):
            target = _part(module)
            if target is not None and target != source:
                edges.setdefault(target, f"{path.relative_to(REPO_ROOT)}:{line}")
    return graph


def test_the_graph_sees_the_known_layers() -> None:
    graph = _graph()
    assert "models" in graph["predictor"] and "explain" in graph["predictor"]
    assert "predictor" in graph["inference"]  # a function-level import in load_model


def test_inference_parts_have_no_import_cycle() -> None:
    graph = _graph()
    cycle = find_cycle(graph) or []
    where = [graph[a][b] for a, b in pairwise(cycle)]
    assert cycle == [], " -> ".join(cycle) + "\n" + "\n".join(where)


def test_inference_never_imports_django_or_the_app() -> None:
    """Not even for the type checker: ``inference/`` must type-check without Django installed."""
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {module}"
        for path in python_files(INFERENCE)
        for module, line in imported_modules(path, type_checking=True)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []
