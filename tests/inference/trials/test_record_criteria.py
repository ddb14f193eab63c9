"""Criteria that follow from a trial's record: the setting before surgery and in-situ disease."""

from __future__ import annotations

import datetime as dt

import pytest

from inference.trials.criteria import criteria_for_trial, record_criteria, with_record_criteria
from inference.trials.eligibility import EligibilityOptions, evaluate_trial
from inference.trials.schema import PatientFacts, PriorTherapy, TrialRecord, Verdict

TODAY = dt.date(2026, 11, 1)


def _trial(title: str, conditions: tuple[str, ...] = ("Breast Cancer",)) -> TrialRecord:
    return TrialRecord(
        nct_id="NCT99999999",
        title=title,
        conditions=conditions,
        eligibility_text="Inclusion Criteria:\n- ECOG 0-1",
    )


def _patient(diagnosis: str = "Breast Invasive Ductal Carcinoma", *therapies: str) -> PatientFacts:
    return PatientFacts(
        patient_id="p1",
        as_of=TODAY,
        diagnosis_text=diagnosis,
        prior_therapies=tuple(
            PriorTherapy(name, dt.date(2025, 3, 1), source=f"timeline: {name}")
            for name in therapies
        ),
    )


def _ids(trial: TrialRecord) -> set[str]:
    return {c.criterion_id for c in record_criteria(trial)}


@pytest.mark.parametrize(
    "title",
    [
        "Neoadjuvant Herceptin for Ductal Carcinoma In Situ of the Breast",
        "Randomized Phase II Study of Preoperative Letrozole With Bevacizumab",
        "Combination Chemotherapy Before Surgery in Treating Women With Breast Cancer",
        "PhII Neo-Adjuvant Letrozole & Lapatinib in Operable Breast Cancer",
    ],
)
def test_a_title_that_treats_before_surgery_asks_for_no_prior_surgery(title: str) -> None:
    assert "record-setting" in _ids(_trial(title))


@pytest.mark.parametrize(
    "title",
    [
        "Adjuvant T-DM1 for Residual Invasive Disease After Neoadjuvant Therapy",
        "SCH 66336 Before Surgery in Colorectal Cancer That Has Metastasized to the Liver",
        "Perioperative Chemotherapy for Gastric Cancer",
        "Neoadjuvant or Adjuvant Chemotherapy in Early Breast Cancer",
        "Fulvestrant +/- Akt Inhibition in Advanced Aromatase Inhibitor Resistant Breast Cancer",
    ],
)
def test_a_title_that_enrols_after_surgery_or_for_metastases_has_no_setting(title: str) -> None:
    assert "record-setting" not in _ids(_trial(title))


def test_an_operated_patient_fails_a_neoadjuvant_trial_with_the_surgery_as_evidence() -> None:
    trial = _trial("Neoadjuvant Treatment of Breast Cancer")
    verdicts, summary = evaluate_trial(criteria_for_trial(trial), _patient("", "surgery"))
    setting = next(v for v in verdicts if v.criterion.criterion_id == "record-setting")
    assert setting.verdict is Verdict.NOT_MET
    assert setting.evidence[0].source == "timeline: surgery"
    assert summary.excluded


def test_a_neoadjuvant_trial_is_met_only_when_the_history_is_complete() -> None:
    trial = _trial("Neoadjuvant Treatment of Breast Cancer")
    criteria = record_criteria(trial)
    patient = _patient("Breast Invasive Ductal Carcinoma", "letrozole")
    unknown, _ = evaluate_trial(
        criteria, patient, EligibilityOptions(therapy_history_complete=False)
    )
    assert unknown[0].verdict is Verdict.UNKNOWN
    met, _ = evaluate_trial(criteria, patient, EligibilityOptions(therapy_history_complete=True))
    assert met[0].verdict is Verdict.MET


def test_an_in_situ_trial_fails_an_invasive_cancer_and_fits_dcis() -> None:
    trial = _trial("Herceptin for DCIS", conditions=("Ductal Carcinoma In Situ",))
    criteria = [c for c in record_criteria(trial) if c.criterion_id == "record-in-situ"]
    assert len(criteria) == 1
    invasive, summary = evaluate_trial(criteria, _patient("Breast Invasive Ductal Carcinoma"))
    assert invasive[0].verdict is Verdict.NOT_MET and summary.excluded
    dcis, _ = evaluate_trial(criteria, _patient("Breast Ductal Carcinoma In Situ"))
    assert dcis[0].verdict is Verdict.MET


def test_a_trial_with_an_invasive_condition_beside_dcis_asks_nothing_of_in_situ() -> None:
    trial = _trial("Breast cancer study", conditions=("DCIS", "Invasive Breast Cancer"))
    assert "record-in-situ" not in _ids(trial)


def test_stored_criteria_get_the_current_record_criteria_once() -> None:
    trial = _trial("Neoadjuvant Treatment of Breast Cancer")
    stored = criteria_for_trial(trial)
    older = tuple(c for c in stored if c.criterion_id != "record-setting")
    refreshed = with_record_criteria(trial, older)
    assert [c.criterion_id for c in refreshed] == [c.criterion_id for c in stored]
    assert with_record_criteria(trial, stored) == stored
