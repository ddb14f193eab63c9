"""Byte-flip fuzzing shared by the tests of the parsers of untrusted files."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz_settings(max_examples: int, *also_suppress: HealthCheck) -> settings:
    """Deterministic, database-free hypothesis settings for a fuzz test using ``tmp_path``."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, *also_suppress],
    )


def byte_flips(source: bytes, max_size: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    """One to ``max_size`` (position, new byte value) pairs within ``source``."""
    return st.lists(
        st.tuples(st.integers(0, len(source) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=max_size,
    )


def flipped(source: bytes, flips: Iterable[tuple[int, int]]) -> bytes:
    """``source`` with the given bytes replaced."""
    data = bytearray(source)
    for pos, value in flips:
        data[pos] = value
    return bytes(data)
