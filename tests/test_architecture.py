"""The layout shows the architecture: the apps form a layered graph.

Imports are read by :mod:`tests.import_graph` (``inference/`` has its own layer tests in
``tests/test_inference_layers.py``).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from tests.import_graph import find_cycle, imported_modules, module_name, python_files
from tests.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "oncology_ui"

# The layers, lowest first: an app may import its own layer's apps only where listed as an edge,
# and never an app of a higher layer. The cycle test below is the rule; this is the picture.
LAYERS = (
    ("core",),
    ("patients",),
    ("clinical", "pathology", "imaging", "notes"),
    ("modelregistry",),
    ("analysis",),
    ("therapies", "trials"),
    ("boards", "generative"),
    ("reports", "sitelearn", "cohorts"),
    ("casepage", "demodata"),
)


def _app_of(module: str) -> str | None:
    """``oncology_ui.<app>....`` -> ``<app>``; the project modules (settings, urls) -> None."""
    parts = module.split(".")
    if parts[0] != "oncology_ui" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() else None


def app_graph() -> dict[str, dict[str, list[str]]]:
    """App -> app it imports -> where (``file:line``), every file of the app included."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in python_files(PACKAGE):
        source = _app_of(module_name(path))
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
    everything = {module for module, _ in imported_modules(probe, "x.probe", type_checking=True)}
    assert "oncology_ui.reports.data" in everything
