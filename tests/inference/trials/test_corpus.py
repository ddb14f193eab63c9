from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from inference.trials.build_subset import select_oncology
from inference.trials.corpus import (
    SUBSET_EMBEDDINGS_PATH,
    SUBSET_PATH,
    embeddings_for,
    load_shipped_trials,
    read_records,
    record_from_json,
    record_to_json,
    write_records,
)
from inference.trials.retrieval import load_embeddings
from inference.trials.schema import TrialRecord


def test_records_survive_a_json_round_trip(trials: tuple[TrialRecord, ...], tmp_path: Path) -> None:
    assert record_from_json(record_to_json(trials[0])) == trials[0]
    path = tmp_path / "t.jsonl.gz"
    write_records(path, trials)
    assert read_records(path) == trials
    first = path.read_bytes()
    write_records(path, trials)
    assert path.read_bytes() == first  # deterministic output


def test_the_shipped_subset_is_oncology_with_criteria_and_small() -> None:
    trials = load_shipped_trials()
    assert len(trials) > 3000
    assert all(t.eligibility_text and t.title for t in trials)
    assert SUBSET_PATH.stat().st_size < 4_000_000
    vectors = load_embeddings(SUBSET_EMBEDDINGS_PATH)
    assert set(vectors.ids) == {t.nct_id for t in trials}
    assert vectors.matrix.shape == (len(trials), 384)


def test_select_oncology_keeps_flagged_trials_with_text(tmp_path: Path) -> None:
    corpus = tmp_path / "trials.jsonl.gz"
    rows = [
        {
            "nct_id": "NCT00000001",
            "title": "A",
            "eligibility_criteria": "x",
            "oncology_heuristic": True,
        },
        {"nct_id": "NCT00000002", "title": "B", "oncology_heuristic": True},
        {
            "nct_id": "NCT00000003",
            "title": "C",
            "eligibility_criteria": "x",
            "oncology_heuristic": False,
        },
        {"nct_id": "bad", "title": "D", "eligibility_criteria": "x", "oncology_heuristic": True},
    ]
    with gzip.open(corpus, "wt") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows) + "\n")
    kept, errors = select_oncology(corpus)
    assert [t.nct_id for t in kept] == ["NCT00000001"]
    assert errors == 1


def test_embeddings_are_computed_once_and_cached(
    trials: tuple[TrialRecord, ...], tmp_path: Path
) -> None:
    three = trials[:3]
    calls: list[int] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.eye(len(texts), 384, dtype=np.float32)

    cache = tmp_path / "cache.npz"
    embeddings_for(three[:2], cache, encode)
    stored = embeddings_for(three, cache, encode)
    assert calls == [2, 1]
    assert stored.ids == tuple(t.nct_id for t in three)
