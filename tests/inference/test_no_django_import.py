"""Importing all of ``inference/`` in a fresh interpreter leaves Django unloaded.

The static check (no import statement names Django) is ``tests/test_inference_layers.py``; this one
also catches Django pulled in indirectly, through a third-party package.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.import_graph import module_name, python_files
from tests.paths import REPO_ROOT

INFERENCE = REPO_ROOT / "inference"


@pytest.mark.slow
def test_importing_every_inference_module_leaves_django_unloaded() -> None:
    modules = [module_name(path) for path in python_files(INFERENCE)]
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
