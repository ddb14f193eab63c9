"""Trial tests: BM25-only retrieval (no MiniLM load) and a fresh process-wide index per test."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.oncology_ui.conftest import Cast, signed_in_client


@pytest.fixture(autouse=True)
def _bm25_only(bm25_only_trials: None) -> None:
    """Every trial test runs with ``bm25_only_trials`` (tests/conftest.py)."""


@pytest.fixture
def coordinator_client(cast: Cast) -> Client:
    """A signed-in trial coordinator."""
    return signed_in_client(cast.coordinator)
