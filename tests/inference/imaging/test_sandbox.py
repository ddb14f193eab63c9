"""The parser sandbox turns hangs, memory blow-ups and crashes into errors."""

from __future__ import annotations

import pickle
import time

import pytest

from inference.imaging.sandbox import SandboxError, restricted_loads, run_sandboxed
from inference.imaging.schema import SandboxLimits

LIMITS = SandboxLimits(memory_bytes=768 * 1024**2, cpu_seconds=5, wall_seconds=3)
SELFTEST = "inference.imaging._sandbox_selftest"


def test_it_returns_the_child_result() -> None:
    assert run_sandboxed(f"{SELFTEST}:echo", (41,), LIMITS) == 41


def test_it_kills_a_hung_parser_at_the_wall_clock_limit() -> None:
    start = time.monotonic()
    with pytest.raises(SandboxError) as info:
        run_sandboxed(f"{SELFTEST}:hang", (60.0,), SandboxLimits(wall_seconds=1.5))
    assert info.value.kind == "timeout"
    assert time.monotonic() - start < 10


def test_it_stops_a_parser_that_allocates_without_bound() -> None:
    with pytest.raises(SandboxError) as info:
        run_sandboxed(f"{SELFTEST}:allocate", (4 * 1024**3,), LIMITS)
    assert info.value.kind == "memory"


def test_it_survives_a_parser_that_segfaults() -> None:
    with pytest.raises(SandboxError) as info:
        run_sandboxed(f"{SELFTEST}:crash", (), LIMITS)
    assert info.value.kind == "crash"
    assert "SIGSEGV" in str(info.value)


def test_it_enforces_the_cpu_limit() -> None:
    limits = SandboxLimits(memory_bytes=768 * 1024**2, cpu_seconds=1, wall_seconds=20)
    with pytest.raises(SandboxError) as info:
        run_sandboxed(f"{SELFTEST}:spin", (), limits)
    assert info.value.kind == "cpu"


def test_it_refuses_targets_outside_the_imaging_package() -> None:
    with pytest.raises(SandboxError, match="outside inference.imaging"):
        run_sandboxed("os:getcwd", (), LIMITS)


def test_results_cannot_smuggle_arbitrary_classes() -> None:
    evil = pickle.dumps(("ok", time.sleep))
    with pytest.raises(pickle.UnpicklingError):
        restricted_loads(evil)
