"""Trial tests: BM25-only retrieval (no MiniLM load) and a fresh process-wide index per test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _bm25_only(bm25_only_trials: None) -> None:
    """Every trial test runs with ``bm25_only_trials`` (tests/conftest.py)."""
