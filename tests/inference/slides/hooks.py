"""Sandbox targets that misbehave on purpose, to test that the caller survives them."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any


def segfault(path: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Dereference a null pointer, as a crashing C decoder would."""
    ctypes.string_at(0)
    return {}


def spin(path: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Loop forever on the CPU, as a decoder stuck in a loop would."""
    while True:
        pass


def sleep_with_grandchild(path: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Start a grandchild that writes its pid to ``path``, then block forever."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(path, "w") as fh:
        fh.write(str(child.pid))
    time.sleep(600)
    return {}


def allocate(path: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Ask for far more memory than the sandbox allows."""
    block = bytearray(64 * 1024**3)
    return {"size": len(block)}


def report_progress(
    path: str, limits: dict[str, Any], progress: Callable[[int, int], None]
) -> dict[str, Any]:
    """Report three steps of progress, then answer."""
    for i in range(3):
        progress(i + 1, 3)
    return {"steps": 3}
