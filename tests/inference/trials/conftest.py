from __future__ import annotations

from pathlib import Path

import pytest

from inference.trials.records import read_corpus_jsonl
from inference.trials.schema import TrialRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "trials"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def trials() -> tuple[TrialRecord, ...]:
    """The 32 trials of ``fixture_trials.jsonl``, read once (the records are frozen)."""
    return read_corpus_jsonl(FIXTURES / "fixture_trials.jsonl").records
