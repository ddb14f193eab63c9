"""Trial tests: BM25-only retrieval (no MiniLM load) and a fresh process-wide index per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import LazySettings

from oncology_ui.trials.index import trial_index_reset


@pytest.fixture(autouse=True)
def _bm25_only(settings: LazySettings) -> Iterator[None]:
    settings.TRIALS_RETRIEVAL_MODE = "bm25"
    settings.TRIALS_EMBEDDINGS = False
    trial_index_reset()
    yield
    trial_index_reset()
