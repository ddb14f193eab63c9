"""Sandbox targets that misbehave on purpose, to prove the limits work (tests, deployment checks).

Each function stands in for a C parser failing on hostile input: hanging, allocating without bound,
burning CPU or crashing with SIGSEGV.
"""

from __future__ import annotations

import ctypes
import time


def hang(seconds: float) -> None:
    """Sleep far past any wall-clock limit."""
    time.sleep(seconds)


def allocate(n_bytes: int) -> int:
    """Allocate ``n_bytes`` at once (fails under RLIMIT_AS)."""
    return len(bytearray(n_bytes))


def spin() -> None:
    """Burn CPU forever (stopped by RLIMIT_CPU or the wall clock)."""
    while True:
        pass


def crash() -> None:
    """Dereference NULL, as a buggy decoder would."""
    ctypes.string_at(0)


def echo(value: int) -> int:
    """Return ``value`` (the sandbox round trip works)."""
    return value


class SelftestError(ValueError):
    """An error carrying a ``kind`` and ``detail``, like the parsers' own errors."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"selftest: {detail}")


def fail(kind: str, detail: str) -> None:
    """Raise :class:`SelftestError` (the child reports it, it does not crash)."""
    raise SelftestError(kind, detail)


def chatter(value: int) -> int:
    """Print to stdout, as a chatty library would, then return ``value``."""
    print("decoder says hello")
    return value
