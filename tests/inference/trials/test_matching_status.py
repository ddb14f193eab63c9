"""Matching restricted to recruitment statuses finds open trials below the usual depth."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from inference.trials.matching import MatchOptions, condition_covers, match_trials
from inference.trials.retrieval import TrialIndex
from inference.trials.schema import Fact, PatientFacts, TrialRecord

TODAY = dt.date(2026, 11, 1)


def test_a_status_filter_finds_the_open_trials_past_the_candidate_depth(
    trials: tuple[TrialRecord, ...],
) -> None:
    patient = PatientFacts(
        "w",
        TODAY,
        age_years=70.0,
        sex="female",
        diagnosis_text="metastatic breast cancer",
        stage=Fact("IV", TODAY),
    )
    ranked = match_trials(patient, TrialIndex(trials), k=50)
    # Mark the two lowest-ranked breast-cancer trials as the only recruiting ones.
    by_id = {t.nct_id: t for t in trials}
    breast = [m for m in ranked if condition_covers(by_id[m.nct_id], patient)]
    low = {m.nct_id for m in breast[-2:]}
    assert len(low) == 2 and len(breast) > 3
    index = TrialIndex(
        [replace(t, status="recruiting" if t.nct_id in low else "completed") for t in trials]
    )
    shallow = MatchOptions(candidates=3)
    assert not low & {m.nct_id for m in match_trials(patient, index, k=3, options=shallow)}
    only_open = replace(shallow, statuses=frozenset({"recruiting"}))
    found = match_trials(patient, index, k=3, options=only_open)
    assert {m.nct_id for m in found} == low
    # Scores are on the same scale as the unfiltered ranking's.
    every = {m.nct_id: m.score for m in match_trials(patient, index, k=50)}
    assert all(abs(m.score - every[m.nct_id]) < 1e-6 for m in found)


def test_open_trials_for_other_cancers_are_counted_not_matched() -> None:
    from inference.trials.corpus import load_shipped_trials
    from inference.trials.matching import match_trials_run

    trials = load_shipped_trials()
    index = TrialIndex(trials)
    open_only = MatchOptions(mode="bm25", statuses=frozenset({"recruiting", "not_yet_recruiting"}))
    by_id = {t.nct_id: t for t in trials}
    cases = {
        "Invasive ductal carcinoma of the breast": "NCT01334021",
        "Lung adenocarcinoma, EGFR exon 19 deletion": "NCT00001823",
        "Adenocarcinoma of the sigmoid colon": "NCT02912559",
    }
    for diagnosis, expected in cases.items():
        patient = PatientFacts("p", TODAY, age_years=60.0, sex="female", diagnosis_text=diagnosis)
        run = match_trials_run(patient, index, k=30, options=open_only)
        listed = {m.nct_id for m in run.matches}
        assert expected in listed, diagnosis
        # The familial pituitary adenoma study is open but for no cancer of these patients.
        assert "NCT00461188" not in listed and run.other_cancers
        assert all(condition_covers(by_id[n], patient) for n in listed), diagnosis
        assert not listed & set(run.other_cancers)
