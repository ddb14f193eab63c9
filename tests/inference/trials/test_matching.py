from __future__ import annotations

import datetime as dt

from inference.trials.matching import (
    MatchOptions,
    match_patients,
    match_trials,
    patient_query,
    phase_value,
    status_value,
)
from inference.trials.retrieval import TrialIndex
from inference.trials.schema import Fact, PatientFacts, PriorTherapy, TrialRecord

TODAY = dt.date(2026, 11, 1)


def _woman(age: float = 70.0) -> PatientFacts:
    return PatientFacts(
        patient_id="w",
        as_of=TODAY,
        age_years=age,
        sex="female",
        diagnosis_text="metastatic breast cancer",
        stage=Fact("IV", TODAY),
        ecog=Fact(1, TODAY),
        # NCT00003674 asks for breast cancer "that has failed prior chemotherapy or hormone
        # therapy": a recorded first line settles it.
        prior_therapies=(PriorTherapy("letrozole", TODAY, line=1),),
    )


def test_it_ranks_trials_for_a_patient_with_reasons(trials: tuple[TrialRecord, ...]) -> None:
    index = TrialIndex(trials)
    matches = match_trials(_woman(), index, k=5)
    # The two metastatic breast cancer trials of the corpus come first.
    assert {m.nct_id for m in matches[:2]} == {"NCT00003902", "NCT00003674"}
    assert matches[0].patient_id == "w"
    assert not matches[0].summary.excluded
    assert any("criteria satisfied" in r for r in matches[0].rank_reasons)
    assert [m.score for m in matches if not m.summary.excluded] == sorted(
        (m.score for m in matches if not m.summary.excluded), reverse=True
    )


def test_it_demotes_trials_with_a_hard_exclusion(trials: tuple[TrialRecord, ...]) -> None:
    index = TrialIndex(trials)
    young = _woman(age=50.0)  # NCT00003902 is for women 65 and older
    # The whole corpus: the learned score already puts the excluded trial below the top 10.
    matches = match_trials(young, index, k=len(trials))
    target = next(m for m in matches if m.nct_id == "NCT00003902")
    assert target.summary.excluded
    assert target.rank_reasons[0].startswith("inclusion not met (record-age)")
    assert matches.index(target) > max(i for i, m in enumerate(matches) if not m.summary.excluded)
    flat = match_trials(young, index, k=len(trials), options=MatchOptions(demote_excluded=False))
    flat_rank = [m.nct_id for m in flat].index("NCT00003902")
    assert flat_rank < matches.index(target)


def test_it_ranks_patients_for_a_trial(trials: tuple[TrialRecord, ...]) -> None:
    prostate = next(t for t in trials if t.nct_id == "NCT00002881")  # men, 18+
    man = PatientFacts("m", TODAY, age_years=68, sex="male", diagnosis_text="prostate cancer")
    matches = match_patients(prostate, [_woman(), man])
    assert [m.patient_id for m in matches] == ["m", "w"]
    assert matches[1].summary.excluded
    assert all(m.nct_id == "NCT00002881" for m in matches)


def test_status_and_phase_preferences() -> None:
    assert (
        status_value("recruiting")
        > status_value("active_not_recruiting")
        > status_value("completed")
    )
    assert phase_value("Phase 3") > phase_value("Phase 1") > phase_value("N/A") - 0.01


def test_the_patient_query_carries_diagnosis_and_markers() -> None:
    query = patient_query(_woman())
    assert query.startswith("metastatic breast cancer")
    assert "stage IV" in query
