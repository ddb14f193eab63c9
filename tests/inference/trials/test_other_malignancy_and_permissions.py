"""Criteria about *another* malignancy, and permissive statements, judged on real corpus texts."""

from __future__ import annotations

import datetime as dt

import pytest

from inference.trials.criteria import criteria_for_trial
from inference.trials.eligibility import EligibilityOptions, evaluate_criterion, evaluate_trial
from inference.trials.schema import (
    Criterion,
    CriterionKind,
    Fact,
    PatientFacts,
    PriorTherapy,
    TrialRecord,
    Verdict,
)

TODAY = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def shipped() -> dict[str, TrialRecord]:
    from inference.trials.corpus import load_shipped_trials

    return {t.nct_id: t for t in load_shipped_trials()}


def _breast(**kwargs: object) -> PatientFacts:
    base: dict[str, object] = {
        "patient_id": "breast-1",
        "as_of": TODAY,
        "age_years": 52.0,
        "sex": "female",
        "diagnosis_text": "Invasive ductal carcinoma of the breast",
        "oncotree_code": "IDC",
        "stage": Fact("IV", dt.date(2026, 10, 1), "staging"),
    }
    base.update(kwargs)
    return PatientFacts(**base)  # type: ignore[arg-type]


#: NCT01334021's exclusion of another invasive cancer within 5 years (skin carcinomas excepted).
PRIOR_INVASIVE = "The patient has a prior history of invasive"


def _criterion(trial: TrialRecord, starts: str) -> list[Criterion]:
    found = [c for c in criteria_for_trial(trial) if c.text.startswith(starts)]
    assert found, f"{trial.nct_id} has no criterion starting {starts!r}"
    return found


def _verdicts(trial: TrialRecord, starts: str, patient: PatientFacts) -> list[Verdict]:
    return [evaluate_criterion(c, patient).verdict for c in _criterion(trial, starts)]


# ------------------------------------------------------------------ the patient's own cancer
def test_the_index_breast_cancer_is_not_a_prior_invasive_cancer(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT01334021 (recruiting, breast RT): "The patient has a prior history of invasive or
    # metastatic cancer within 5 years of diagnosis of breast cancer, excluding squamous cell
    # or basal cell carcinoma of the skin." On main the breast diagnosis itself met it.
    trial = shipped["NCT01334021"]
    criteria = _criterion(trial, "The patient has a prior history of invasive or metastatic")
    assert all(not c.inclusion for c in criteria)
    verdicts = [evaluate_criterion(c, _breast()) for c in criteria]
    assert [v.verdict for v in verdicts] == [Verdict.NOT_MET]
    assert not any(v.excludes_patient for v in verdicts)
    assert verdicts[0].criterion.kind is CriterionKind.PRIOR_MALIGNANCY


def test_a_recorded_second_primary_within_the_window_excludes(
    shipped: dict[str, TrialRecord],
) -> None:
    trial = shipped["NCT01334021"]
    patient = _breast(comorbidities=("Colon adenocarcinoma (2023), resected",))
    verdicts = [evaluate_criterion(c, patient) for c in _criterion(trial, PRIOR_INVASIVE)]
    assert [v.verdict for v in verdicts] == [Verdict.MET]
    assert verdicts[0].excludes_patient
    assert "Colon adenocarcinoma" in verdicts[0].evidence[0].value


@pytest.mark.parametrize(
    ("comorbidities", "expected"),
    [
        pytest.param(
            ("Colon adenocarcinoma (2012), resected",),
            Verdict.NOT_MET,
            id="a-second-primary-older-than-the-window-does-not-exclude",
        ),
        pytest.param(
            ("Basal cell carcinoma of the skin (2024), excised",),
            Verdict.NOT_MET,
            id="a-basal-cell-carcinoma-falls-under-the-skin-carve-out",
        ),
        pytest.param(
            ("Breast cancer (2025)", "Hypertension"),
            Verdict.NOT_MET,
            id="the-same-site-recorded-again-is-not-another-primary",
        ),
        pytest.param(
            ("Contralateral breast cancer, second primary (2024)",),
            Verdict.MET,
            id="a-contralateral-second-primary-is-another-primary",
        ),
    ],
)
def test_a_recorded_comorbidity_against_the_prior_invasive_cancer_exclusion(
    shipped: dict[str, TrialRecord], comorbidities: tuple[str, ...], expected: Verdict
) -> None:
    patient = _breast(comorbidities=comorbidities)
    assert _verdicts(shipped["NCT01334021"], PRIOR_INVASIVE, patient) == [expected]


def test_an_undated_second_primary_against_a_window_is_unknown_with_a_resolver(
    shipped: dict[str, TrialRecord],
) -> None:
    trial = shipped["NCT01334021"]
    patient = _breast(comorbidities=("Papillary thyroid carcinoma",))
    verdict = evaluate_criterion(_criterion(trial, PRIOR_INVASIVE)[0], patient)
    assert verdict.verdict is Verdict.UNKNOWN
    assert "record when Papillary thyroid carcinoma was diagnosed" in verdict.resolver


@pytest.mark.parametrize(
    ("nct_id", "starts", "inclusion"),
    [
        # Inclusion lists phrase it as an absence; carve-outs in different words.
        ("NCT00001385", "No second invasive malignancy in addition to breast cancer.", True),
        ("NCT00001189", "No prior malignancy except basal cell carcinoma.", True),
        ("NCT00001193", "There must be no history of previous malignancy except for cured", True),
        ("NCT00498966", "Patients who have a history of another primary malignancy", False),
        ("NCT00462995", "Patients who have had a previous diagnosis of cancer", False),
        ("NCT00000658", "Another prior or current malignancy, excepting curatively treated", False),
    ],
)
def test_the_index_cancer_alone_never_counts_as_another_malignancy(
    shipped: dict[str, TrialRecord], nct_id: str, starts: str, inclusion: bool
) -> None:
    verdicts = [evaluate_criterion(c, _breast()) for c in _criterion(shipped[nct_id], starts)]
    assert all(v.criterion.inclusion is inclusion for v in verdicts)
    if inclusion:  # an absence the patient meets
        assert all(v.satisfied for v in verdicts), verdicts
    else:  # another primary the patient does not have (or not known to have)
        assert not any(v.excludes_patient for v in verdicts), verdicts


def test_a_cured_carve_out_leaves_a_recorded_second_primary_for_the_clinician(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT00001382: "No prior malignancy unless curatively treated and patient has been in
    # remission for at least 2 years (excluding squamous cell or basal cell carcinoma ...".
    criteria = _criterion(shipped["NCT00001382"], "No prior malignancy unless curatively treated")
    patient = _breast(comorbidities=("Hodgkin lymphoma (2019)",))
    verdict = evaluate_criterion(criteria[0], patient)
    assert verdict.verdict is Verdict.UNKNOWN
    assert "curative intent" in verdict.resolver


def test_an_incomplete_history_makes_other_malignancy_unknown(
    shipped: dict[str, TrialRecord],
) -> None:
    criterion = _criterion(shipped["NCT01334021"], PRIOR_INVASIVE)
    verdict = evaluate_criterion(
        criterion[0], _breast(), EligibilityOptions(medical_history_complete=False)
    )
    assert verdict.verdict is Verdict.UNKNOWN
    assert verdict.resolver == "record the history of other malignancies"


def test_the_index_cancer_no_longer_excludes_from_the_recruiting_breast_trial(
    shipped: dict[str, TrialRecord],
) -> None:
    trial = shipped["NCT01334021"]
    verdicts, _ = evaluate_trial(criteria_for_trial(trial), _breast())
    blockers = [v for v in verdicts if v.excludes_patient]
    assert not any("invasive or metastatic cancer" in v.criterion.text for v in blockers)


# ------------------------------------------------------------------ permissive statements
def test_a_permitted_regimen_is_informational_and_the_gap_is_a_minimum(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT00496288 (recruiting): "The patient may receive any regimen of adjuvant chemotherapy,
    # according to the treating physician. All cycles of chemotherapy must be completed at
    # least 3 weeks prior to the start of radiation therapy." On main a patient whose
    # chemotherapy ended months ago failed it as if a recent dose were required.
    criteria = _criterion(shipped["NCT00496288"], "The patient may receive any regimen")
    patient = _breast(
        prior_therapies=(
            PriorTherapy(
                "AC-T",
                start=dt.date(2026, 1, 10),
                end=dt.date(2026, 6, 1),
                line=1,
                drug_classes=("chemotherapy",),
            ),
        )
    )
    verdicts = [evaluate_criterion(c, patient) for c in criteria]
    assert not any(v.excludes_patient for v in verdicts)
    recent = _breast(
        prior_therapies=(
            PriorTherapy("AC-T", end=dt.date(2026, 10, 25), line=1, drug_classes=("chemotherapy",)),
        )
    )
    assert any(evaluate_criterion(c, recent).excludes_patient for c in criteria)


@pytest.mark.parametrize(
    ("nct_id", "starts"),
    [
        ("NCT00002480", "Prior hormonal therapy allowed"),
        ("NCT01029054", "Bisphosphonates are permitted"),
        ("NCT00002855", "Prior prostatectomy allowed"),
    ],
)
def test_a_permission_is_not_applicable_whatever_the_record_says(
    shipped: dict[str, TrialRecord], nct_id: str, starts: str
) -> None:
    for patient in (_breast(), _breast(sex="male")):
        for criterion in _criterion(shipped[nct_id], starts):
            verdict = evaluate_criterion(criterion, patient)
            assert criterion.kind is CriterionKind.PERMISSIVE
            assert verdict.verdict is Verdict.NOT_APPLICABLE
            assert "permits" in verdict.explanation


def test_a_conditional_permission_stays_for_manual_review(
    shipped: dict[str, TrialRecord],
) -> None:
    criteria = _criterion(shipped["NCT00493636"], "Prior hormonal therapy allowed provided")
    verdicts = [evaluate_criterion(c, _breast()) for c in criteria]
    assert [v.verdict for v in verdicts] == [Verdict.UNKNOWN]
    assert verdicts[0].resolver == "review this criterion manually"


def test_a_pdq_run_on_keeps_the_requirement_beside_the_permission(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT00003032: "Chemotherapy: No prior chemotherapy for metastatic or recurrent breast
    # cancer Induction chemotherapy required Endocrine therapy: Prior hormonal therapy allowed
    # No concurrent hormonal therapy": the permission is informational, the prohibition of
    # prior chemotherapy is still checked (on main the whole line stayed free text).
    criteria = _criterion(shipped["NCT00003032"], "Chemotherapy: No prior chemotherapy")
    chemo = [
        c
        for c in criteria
        if c.kind is CriterionKind.PRIOR_THERAPY and c.therapy and c.therapy.agent == "chemotherapy"
    ]
    assert chemo and not chemo[0].present
    treated = _breast(
        prior_therapies=(PriorTherapy("paclitaxel", end=dt.date(2026, 5, 1), line=1),)
    )
    assert evaluate_criterion(chemo[0], treated).excludes_patient


def test_a_transfusion_note_leaves_the_haemoglobin_threshold_checked(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT00002689: "Hemoglobin at least 9 g/dL (transfusion allowed)" stayed free text on main.
    criteria = _criterion(shipped["NCT00002689"], "Hemoglobin at least 9 g/dL (transfusion")
    assert [c.kind for c in criteria] == [CriterionKind.LAB]
    # A note that widens the threshold ("less than 8.5 g/dL allowed if ...") is not dropped:
    # reading the threshold alone would count against patients the trial accepts.
    widened = _criterion(shipped["NCT00002550"], "Hemoglobin at least 10.0 g/dL (less than")
    assert [c.kind for c in widened] == [CriterionKind.TEXT]
    age = _criterion(shipped["NCT00002718"], "Under 50 (50 and over allowed")
    assert [c.kind for c in age] == [CriterionKind.TEXT]


def test_a_prohibition_worded_with_allowed_is_not_a_permission(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT00496288 exclusion: "No concurrent chemotherapy is allowed".
    criteria = _criterion(shipped["NCT00496288"], "No concurrent chemotherapy is allowed")
    assert all(c.kind is not CriterionKind.PERMISSIVE for c in criteria)
    assert [evaluate_criterion(c, _breast()).verdict for c in criteria] != [Verdict.NOT_APPLICABLE]
