"""``inference/`` never imports Django: checked statically and in a fresh interpreter."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

INFERENCE = Path(__file__).resolve().parents[2] / "inference"


def _modules() -> list[str]:
    names = []
    for path in sorted(INFERENCE.rglob("*.py")):
        relative = path.relative_to(INFERENCE.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "__pycache__" not in parts:
            names.append(".".join(parts))
    return names


def test_no_file_under_inference_imports_django() -> None:
    offenders = []
    for path in INFERENCE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name == "django" or name.startswith("django.") for name in names):
                offenders.append(f"{path}:{node.lineno}")
    assert offenders == []


def test_importing_every_inference_module_leaves_django_unloaded() -> None:
    modules = _modules()
    assert "inference.predictor" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=INFERENCE.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "", "PYTHONPATH": str(INFERENCE.parent)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
