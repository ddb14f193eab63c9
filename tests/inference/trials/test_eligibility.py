from __future__ import annotations

import datetime as dt

import pytest

from inference.trials.criteria import parse_criteria
from inference.trials.eligibility import (
    EligibilityOptions,
    evaluate_criterion,
    evaluate_trial,
    summarise,
)
from inference.trials.schema import (
    Biomarker,
    Criterion,
    CriterionKind,
    Fact,
    LabValue,
    NumericBound,
    PatientFacts,
    PriorTherapy,
    StalenessPolicy,
    Verdict,
)

TODAY = dt.date(2026, 11, 1)
RECENT = dt.date(2026, 10, 25)


def _patient(**kwargs: object) -> PatientFacts:
    base: dict[str, object] = {
        "patient_id": "p1",
        "as_of": TODAY,
        "age_years": 61.0,
        "sex": "female",
        "diagnosis_text": "metastatic non-small cell lung adenocarcinoma",
        "stage": Fact("IV", RECENT, "pathology"),
        "ecog": Fact(1, RECENT, "clinic note"),
    }
    base.update(kwargs)
    return PatientFacts(**base)  # type: ignore[arg-type]


def _criterion(line: str, inclusion: bool = True) -> Criterion:
    section = "Inclusion Criteria:" if inclusion else "Exclusion Criteria:"
    criteria = parse_criteria(f"{section}\n- {line}")
    assert len(criteria) == 1, criteria
    return criteria[0]


def _verdict(
    line: str, patient: PatientFacts, inclusion: bool = True, **options: object
) -> Verdict:
    criterion = _criterion(line, inclusion)
    return evaluate_criterion(criterion, patient, EligibilityOptions(**options)).verdict  # type: ignore[arg-type]


def test_it_meets_an_ecog_range_with_a_recent_score() -> None:
    verdict = evaluate_criterion(_criterion("ECOG performance status 0-1"), _patient())
    assert verdict.verdict is Verdict.MET
    assert verdict.evidence[0].fact == "ECOG" and verdict.evidence[0].value == "1"
    assert verdict.evidence[0].date == RECENT


def test_it_says_what_resolves_a_missing_ecog() -> None:
    verdict = evaluate_criterion(_criterion("ECOG performance status 0-1"), _patient(ecog=None))
    assert verdict.verdict is Verdict.UNKNOWN
    assert verdict.resolver.startswith("no ECOG recorded")


def test_it_treats_a_stale_ecog_as_unknown() -> None:
    old = _patient(ecog=Fact(0, dt.date(2026, 1, 1), "clinic note"))
    verdict = evaluate_criterion(_criterion("ECOG performance status 0-1"), old)
    assert verdict.verdict is Verdict.UNKNOWN
    assert "reassess performance status" in verdict.resolver
    relaxed = EligibilityOptions(policy=StalenessPolicy(performance_status_days=400))
    assert evaluate_criterion(_criterion("ECOG 0-1"), old, relaxed).verdict is Verdict.MET


def test_it_reads_karnofsky_as_ecog_when_ecog_is_missing() -> None:
    patient = _patient(ecog=None, karnofsky=Fact(60, RECENT, "note"))
    assert _verdict("ECOG performance status 0-1", patient) is Verdict.NOT_MET


def test_it_converts_anc_per_microlitre_to_si_units() -> None:
    patient = _patient(labs=(LabValue("anc", 1800, "cells/uL", RECENT),))
    assert _verdict("ANC >= 1.5 x 10^9/L", patient) is Verdict.MET
    low = _patient(labs=(LabValue("anc", 1.2, "10^9/L", RECENT),))
    assert _verdict("Absolute neutrophil count at least 1,500/mm^3", low) is Verdict.NOT_MET


def test_it_converts_creatinine_from_micromoles() -> None:
    patient = _patient(labs=(LabValue("creatinine", 140, "µmol/L", RECENT),))
    # 140 µmol/L is 1.58 mg/dL.
    assert _verdict("Creatinine =< 1.5 mg/dl", patient) is Verdict.NOT_MET
    assert _verdict("Creatinine =< 1.7 mg/dl", patient) is Verdict.MET


def test_it_compares_bilirubin_to_a_multiple_of_the_uln() -> None:
    patient = _patient(labs=(LabValue("bilirubin", 1.6, "mg/dL", RECENT, uln=1.2),))
    assert _verdict("Total bilirubin <= 1.5 x ULN", patient) is Verdict.MET
    assert (
        _verdict("Bilirubin no greater than upper limit of normal (ULN)", patient)
        is Verdict.NOT_MET
    )


def test_it_asks_for_the_uln_when_it_is_missing() -> None:
    patient = _patient(labs=(LabValue("bilirubin", 1.6, "mg/dL", RECENT),))
    verdict = evaluate_criterion(_criterion("Total bilirubin <= 1.5 x ULN"), patient)
    assert verdict.verdict is Verdict.UNKNOWN
    assert verdict.resolver == "record the upper limit of normal for total bilirubin"
    options = EligibilityOptions(reference_uln={"bilirubin": 1.2})
    assert evaluate_criterion(verdict.criterion, patient, options).verdict is Verdict.MET


def test_it_allows_the_higher_ast_limit_with_liver_metastases() -> None:
    line = "AST <= 2.5 x ULN or <= 5 x ULN with liver metastases"
    ast = (LabValue("ast", 120, "U/L", RECENT, uln=40),)  # 3 x ULN
    with_liver = _patient(labs=ast, liver_metastases=Fact(True, RECENT, "CT"))
    without = _patient(labs=ast, liver_metastases=Fact(False, RECENT, "CT"))
    unknown = _patient(labs=ast)
    assert _verdict(line, with_liver) is Verdict.MET
    assert _verdict(line, without) is Verdict.NOT_MET
    assert _verdict(line, unknown) is Verdict.UNKNOWN


def test_it_treats_a_stale_lab_as_unknown() -> None:
    patient = _patient(labs=(LabValue("platelets", 250, "10^9/L", dt.date(2026, 6, 1)),))
    verdict = evaluate_criterion(_criterion("Platelets >= 100,000/mm3"), patient)
    assert verdict.verdict is Verdict.UNKNOWN
    assert verdict.resolver.startswith("repeat platelet count")


def test_it_orders_biomarker_testing_when_there_is_no_result() -> None:
    verdict = evaluate_criterion(_criterion("HER2-negative breast cancer"), _patient())
    biomarker = [v for v in [verdict] if v.criterion.kind is CriterionKind.BIOMARKER]
    assert biomarker and biomarker[0].resolver == "order HER2 testing"


@pytest.mark.parametrize(
    ("status", "variant", "line", "expected"),
    [
        ("mutated", "L858R", "EGFR wild-type", Verdict.NOT_MET),
        ("wild-type", "", "EGFR wild-type", Verdict.MET),
        ("mutated", "L858R", "Documented activating EGFR mutation", Verdict.MET),
        ("mutated", "T790M", "EGFR L858R mutation", Verdict.NOT_MET),
        ("mutated", "", "EGFR L858R mutation", Verdict.UNKNOWN),
        # importers and the note reader store HGVS p. notation, one- or three-letter
        ("mutated", "p.L858R", "EGFR L858R mutation", Verdict.MET),
        ("mutated", "p.(Leu858Arg)", "EGFR L858R mutation", Verdict.MET),
        ("mutated", "p.Thr790Met", "EGFR L858R mutation", Verdict.NOT_MET),
    ],
)
def test_it_matches_egfr_status_and_variant(
    status: str, variant: str, line: str, expected: Verdict
) -> None:
    patient = _patient(biomarkers=(Biomarker("EGFR", status, variant, RECENT, "NGS"),))
    assert _verdict(line, patient) is expected


def test_it_handles_a_negated_biomarker_exclusion() -> None:
    patient = _patient(biomarkers=(Biomarker("ALK", "negative", "", RECENT),))
    # Exclusion "ALK rearrangement": absent, so the exclusion does not apply.
    assert _verdict("Known ALK rearrangement", patient, inclusion=False) is Verdict.NOT_MET


def test_it_excludes_on_a_prior_alk_inhibitor() -> None:
    treated = _patient(prior_therapies=(PriorTherapy("alectinib", dt.date(2025, 1, 1)),))
    criterion = _criterion("Prior treatment with an ALK inhibitor", inclusion=False)
    verdict = evaluate_criterion(criterion, treated)
    assert verdict.verdict is Verdict.MET and verdict.excludes_patient
    naive = _patient()
    assert evaluate_criterion(criterion, naive).verdict is Verdict.NOT_MET
    incomplete = EligibilityOptions(therapy_history_complete=False)
    assert evaluate_criterion(criterion, naive, incomplete).verdict is Verdict.UNKNOWN


def test_it_checks_washout_windows_against_therapy_dates() -> None:
    line = "Chemotherapy within 4 weeks prior to first dose"
    recent = _patient(prior_therapies=(PriorTherapy("carboplatin", end=dt.date(2026, 10, 20)),))
    old = _patient(prior_therapies=(PriorTherapy("carboplatin", end=dt.date(2026, 8, 1)),))
    undated = _patient(prior_therapies=(PriorTherapy("carboplatin"),))
    assert _verdict(line, recent, inclusion=False) is Verdict.MET
    assert _verdict(line, old, inclusion=False) is Verdict.NOT_MET
    assert _verdict(line, undated, inclusion=False) is Verdict.UNKNOWN


def test_it_counts_prior_lines() -> None:
    line = "No more than 2 prior lines of systemic therapy for metastatic disease"
    two = _patient(
        prior_therapies=(PriorTherapy("cisplatin", line=1), PriorTherapy("docetaxel", line=2))
    )
    three = _patient(prior_therapies=(*two.prior_therapies, PriorTherapy("pemetrexed", line=3)))
    assert _verdict(line, two) is Verdict.MET
    assert _verdict(line, three) is Verdict.NOT_MET


def test_it_finds_brain_metastases_qualifiers_unresolved() -> None:
    line = "Known untreated brain metastases"
    assert (
        _verdict(line, _patient(brain_metastases=Fact(False, RECENT, "MRI")), False)
        is Verdict.NOT_MET
    )
    with_mets = _patient(brain_metastases=Fact(True, RECENT, "MRI"))
    verdict = evaluate_criterion(_criterion(line, inclusion=False), with_mets)
    assert verdict.verdict is Verdict.UNKNOWN
    assert "untreated" in verdict.resolver


def test_it_marks_pregnancy_criteria_not_applicable_for_men() -> None:
    assert _verdict("Pregnant or lactating women", _patient(sex="male"), False) is (
        Verdict.NOT_APPLICABLE
    )
    assert _verdict("Pregnant or lactating women", _patient(), False) is Verdict.UNKNOWN


def test_it_checks_age_and_stage() -> None:
    assert _verdict("Age 18 to 60 years", _patient()) is Verdict.NOT_MET
    assert _verdict("Stage IIIB or IV disease", _patient()) is Verdict.MET
    assert _verdict("Stage I-III disease", _patient()) is Verdict.NOT_MET


def test_free_text_criteria_stay_unknown() -> None:
    verdict = evaluate_criterion(_criterion("Able to swallow oral medication"), _patient())
    assert verdict.verdict is Verdict.UNKNOWN
    assert verdict.resolver == "review this criterion manually"


def test_an_any_of_group_passes_when_one_alternative_is_met() -> None:
    criteria = parse_criteria(
        "Inclusion Criteria:\n- Serum creatinine <= 1.5 x ULN or creatinine clearance >= 50 mL/min"
    )
    patient = _patient(
        labs=(
            LabValue("creatinine", 2.0, "mg/dL", RECENT, uln=1.1),
            LabValue("creatinine_clearance", 55, "mL/min", RECENT),
        )
    )
    verdicts, summary = evaluate_trial(criteria, patient)
    assert [v.verdict for v in verdicts] == [Verdict.NOT_MET, Verdict.MET]
    assert not summary.excluded and summary.n_satisfied == 1


def test_a_met_exclusion_makes_the_patient_ineligible() -> None:
    criteria = parse_criteria(
        "Inclusion Criteria:\n- ECOG 0-2\nExclusion Criteria:\n- Known brain metastases"
    )
    patient = _patient(brain_metastases=Fact(True, RECENT, "MRI"))
    verdicts, summary = evaluate_trial(criteria, patient)
    assert [v.verdict for v in verdicts] == [Verdict.MET, Verdict.MET]
    assert summary.excluded
    assert summarise(verdicts[:1]).excluded is False


def test_a_record_age_bound_with_open_end() -> None:
    criterion = Criterion(
        "record-age", "Age 18+", True, CriterionKind.AGE, bound=NumericBound(low=18)
    )
    assert evaluate_criterion(criterion, _patient(age_years=17.5)).verdict is Verdict.NOT_MET
    assert evaluate_criterion(criterion, _patient(age_years=None)).verdict is Verdict.UNKNOWN


def test_free_text_about_the_other_sex_is_not_applicable() -> None:
    criterion = _criterion("Women of childbearing potential must use effective contraception")
    man = _patient(sex="male")
    assert evaluate_criterion(criterion, man).verdict is Verdict.NOT_APPLICABLE
    assert evaluate_criterion(criterion, _patient()).verdict is Verdict.UNKNOWN
    both = _criterion("Men and women must use effective contraception")
    assert evaluate_criterion(both, man).verdict is Verdict.UNKNOWN


def test_a_folfox_line_counts_as_prior_chemotherapy() -> None:
    patient = _patient(prior_therapies=(PriorTherapy("FOLFOX", RECENT, line=1),))
    assert _verdict("No prior chemotherapy", patient) is Verdict.NOT_MET
    assert _verdict("Prior chemotherapy", patient, inclusion=False) is Verdict.MET


def test_a_systemic_line_of_unknown_kind_leaves_no_prior_chemotherapy_open() -> None:
    patient = _patient(prior_therapies=(PriorTherapy("Study drug ABC-123", RECENT, line=1),))
    criterion = _criterion("No prior chemotherapy")
    verdict = evaluate_criterion(criterion, patient)
    assert verdict.verdict is Verdict.UNKNOWN
    assert "ABC-123" in verdict.resolver and "chemotherapy" in verdict.resolver
    endocrine = _patient(prior_therapies=(PriorTherapy("Endocrine therapy (agent not recorded)"),))
    assert _verdict("No prior chemotherapy", endocrine) is Verdict.MET


def test_an_exclusion_list_excludes_on_any_member() -> None:
    criteria = parse_criteria(
        "Exclusion Criteria:\n- Any of the following:\n  - Prior radiotherapy\n"
        "  - Known brain metastases"
    )
    patient = _patient(
        prior_therapies=(PriorTherapy("radiotherapy", RECENT),),
        brain_metastases=Fact(False, RECENT, "MRI"),
    )
    _, summary = evaluate_trial(criteria, patient)
    assert summary.excluded and summary.n_failed == 1


def test_surgery_and_radiotherapy_are_not_prior_systemic_therapy() -> None:
    local = _patient(
        prior_therapies=(PriorTherapy("surgery", RECENT), PriorTherapy("radiotherapy", RECENT))
    )
    assert _verdict("Prior systemic therapy", local, inclusion=False) is Verdict.NOT_MET
    systemic = _patient(prior_therapies=(PriorTherapy("letrozole", RECENT, line=1),))
    assert _verdict("Prior systemic therapy", systemic, inclusion=False) is Verdict.MET


def test_an_age_limit_read_from_another_quantity_is_not_judged() -> None:
    # The parser may read "2 standard deviations" or "2-18 months" as an age in years; the
    # verdict would rest on a number that is not the age limit, so it stays unknown.
    shock = "Refractory shock: systolic pressure over 2 standard deviations below the mean for age"
    infants = "Infants aged 2-18 months admitted after surgery"
    for line, inclusion in ((shock, False), (infants, True)):
        verdict = evaluate_criterion(_criterion(line, inclusion), _patient(age_years=8.0))
        assert verdict.verdict is Verdict.UNKNOWN, line


def test_an_age_limit_stated_in_years_or_under_an_age_heading_is_judged() -> None:
    assert _verdict("Age greater than or equal to 18.", _patient()) is Verdict.MET
    assert _verdict("Patients must be 18 or more years of age", _patient()) is Verdict.MET
    heading = parse_criteria("Inclusion Criteria:\nAge: 18 and over")
    assert [evaluate_criterion(c, _patient()).verdict for c in heading] == [Verdict.MET]
    assert evaluate_criterion(heading[0], _patient(age_years=16.0)).verdict is Verdict.NOT_MET


def test_age_written_with_a_plus_sign_or_older_than_is_judged() -> None:
    assert _verdict("Age 18+", _patient()) is Verdict.MET
    assert _verdict("Age older than 18 years", _patient()) is Verdict.MET
    assert _verdict("Age younger than 40 years", _patient()) is Verdict.NOT_MET
    assert evaluate_criterion(_criterion("Age 18+", True), _patient(age_years=17.0)).verdict is (
        Verdict.NOT_MET
    )
    # "18+ months" is not an age in years: it must not be judged as one.
    months = evaluate_criterion(_criterion("Infants 18+ months of age", True), _patient())
    assert months.verdict is Verdict.UNKNOWN


def test_cervical_in_the_neck_sense_does_not_make_a_criterion_female_only() -> None:
    man = _patient(sex="male")
    neck = _criterion("Cervical lymphadenopathy", inclusion=False)
    assert evaluate_criterion(neck, man).verdict is Verdict.UNKNOWN
    cervix = _criterion("Abnormal cervical cytology", inclusion=False)
    assert evaluate_criterion(cervix, man).verdict is Verdict.NOT_APPLICABLE
