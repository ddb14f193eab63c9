"""Matching restricted to recruitment statuses finds open trials below the usual depth."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from inference.trials.matching import MatchOptions, match_trials
from inference.trials.records import read_corpus_jsonl
from inference.trials.retrieval import TrialIndex
from inference.trials.schema import Fact, PatientFacts

TODAY = dt.date(2026, 11, 1)


def test_a_status_filter_finds_the_open_trials_past_the_candidate_depth() -> None:
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "trials"
    trials = list(read_corpus_jsonl(fixtures / "fixture_trials.jsonl").records)
    patient = PatientFacts(
        "w",
        TODAY,
        age_years=70.0,
        sex="female",
        diagnosis_text="metastatic breast cancer",
        stage=Fact("IV", TODAY),
    )
    ranked = match_trials(patient, TrialIndex(trials), k=50)
    # Mark the two lowest-ranked trials as the only recruiting ones.
    low = {m.nct_id for m in ranked[-2:]}
    trials = [replace(t, status="recruiting" if t.nct_id in low else "completed") for t in trials]
    index = TrialIndex(trials)
    shallow = MatchOptions(candidates=3)
    assert not low & {m.nct_id for m in match_trials(patient, index, k=3, options=shallow)}
    only_open = replace(shallow, statuses=frozenset({"recruiting"}))
    found = match_trials(patient, index, k=3, options=only_open)
    assert {m.nct_id for m in found} == low
    # Scores are on the same scale as the unfiltered ranking's.
    every = {m.nct_id: m.score for m in match_trials(patient, index, k=50)}
    assert all(abs(m.score - every[m.nct_id]) < 1e-6 for m in found)
