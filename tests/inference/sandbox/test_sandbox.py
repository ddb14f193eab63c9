"""The parser sandbox turns hangs, memory blow-ups, crashes and exceptions into errors."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from inference.imaging.sandbox import run_sandboxed
from inference.imaging.schema import SandboxLimits
from inference.sandbox import SandboxError, TargetNotAllowed, restricted_loads, run_in_child

LIMITS = SandboxLimits(memory_bytes=768 * 1024**2, cpu_seconds=5, wall_seconds=3)
SELFTEST = "inference.sandbox.selftest"
ALLOWED = (SELFTEST,)


def _run(name: str, *args: object, limits: SandboxLimits = LIMITS) -> object:
    return run_in_child(f"{SELFTEST}:{name}", limits, allowed=ALLOWED, args=args)


@pytest.mark.parametrize("codec", ["pickle", "json"])
def test_it_returns_the_child_result(codec: str) -> None:
    assert run_in_child(f"{SELFTEST}:echo", LIMITS, allowed=ALLOWED, args=(41,), codec=codec) == 41  # type: ignore[arg-type]


def test_it_kills_a_hung_parser_at_the_wall_clock_limit() -> None:
    start = time.monotonic()
    with pytest.raises(SandboxError) as info:
        _run("hang", 60.0, limits=SandboxLimits(wall_seconds=1.5))
    assert info.value.kind == "timeout"
    assert time.monotonic() - start < 10


def test_it_stops_a_parser_that_allocates_without_bound() -> None:
    with pytest.raises(SandboxError) as info:
        _run("allocate", 4 * 1024**3)
    assert info.value.kind == "memory"


def test_it_survives_a_parser_that_segfaults() -> None:
    with pytest.raises(SandboxError) as info:
        _run("crash")
    assert info.value.kind == "crash"
    assert "SIGSEGV" in str(info.value)


def test_it_enforces_the_cpu_limit() -> None:
    with pytest.raises(SandboxError) as info:
        _run(
            "spin", limits=SandboxLimits(memory_bytes=768 * 1024**2, cpu_seconds=1, wall_seconds=20)
        )
    assert info.value.kind == "cpu"


def test_an_exception_in_the_target_comes_back_with_its_kind_and_detail() -> None:
    with pytest.raises(SandboxError) as info:
        _run("fail", "truncated", "file ends early")
    assert (info.value.kind, info.value.exception) == ("truncated", "SelftestError")
    assert info.value.detail == "file ends early"


def test_what_the_target_prints_does_not_corrupt_the_answer() -> None:
    assert _run("chatter", 7) == 7


def test_it_refuses_targets_outside_the_callers_packages() -> None:
    with pytest.raises(TargetNotAllowed, match="outside inference.sandbox.selftest"):
        run_in_child("os:getcwd", LIMITS, allowed=ALLOWED)
    with pytest.raises(SandboxError, match="outside inference.imaging"):
        run_sandboxed("os:getcwd", (), LIMITS)
    with pytest.raises(ValueError):
        run_sandboxed(f"{SELFTEST}:echo", (1,), LIMITS)


def test_results_cannot_smuggle_arbitrary_classes() -> None:
    evil = pickle.dumps(("ok", time.sleep))
    with pytest.raises(pickle.UnpicklingError):
        restricted_loads(evil)
    arrays = restricted_loads(pickle.dumps(("ok", np.arange(3))))
    assert arrays[1].tolist() == [0, 1, 2]


def test_the_child_reads_every_form_of_an_allocation_failure_as_the_memory_limit() -> None:
    import errno

    from inference.sandbox.child import _out_of_memory

    assert _out_of_memory(MemoryError())
    assert _out_of_memory(OSError(errno.ENOMEM, "Cannot allocate memory"))
    try:
        try:
            raise MemoryError()
        except MemoryError as inner:
            raise ValueError("decoding failed") from inner
    except ValueError as outer:
        assert _out_of_memory(outer)
    # Not near a limit (this test process has none): an ordinary failure stays what it is.
    assert not _out_of_memory(OSError(errno.ENOENT, "No such file"))
    assert not _out_of_memory(SystemError("error return without exception set"))
    assert not _out_of_memory(ValueError("bad tag"))
