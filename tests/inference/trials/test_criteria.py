"""Parser cases. Criterion lines are verbatim from trials in ../shared/data/ctgov-trials."""

from __future__ import annotations

from typing import Any

import pytest

from inference.trials.criteria import criteria_for_trial, parse_criteria
from inference.trials.extract import extract_structures
from inference.trials.schema import CriterionKind, NumericBound, TherapyRequirement, TrialRecord


def _one(text: str, kind: CriterionKind) -> Any:
    found = [s for s in extract_structures(text) if s.kind is kind]
    assert len(found) == 1, found
    return found[0]


def test_it_reads_bilirubin_uln_multiple() -> None:
    lab = _one(
        "Total bilirubin =< 1.5 times upper limit of normal (ULN) for age", CriterionKind.LAB
    ).lab
    assert (lab.analyte, lab.comparator, lab.value, lab.uln_multiple) == (
        "bilirubin",
        "<=",
        1.5,
        True,
    )


def test_it_reads_ast_alt_with_the_liver_metastases_alternative() -> None:
    found = extract_structures(
        "SGOT/SGPT less than 2.5 times ULN (less than 5 times ULN with liver metastases)"
    )
    labs = [s.lab for s in found if s.lab]
    assert [lab.analyte for lab in labs] == ["ast", "alt"]
    assert all(lab.comparator == "<" and lab.value == 2.5 for lab in labs)
    assert all(lab.value_with_liver_metastases == 5.0 for lab in labs)


def test_it_reads_anc_with_a_lost_superscript() -> None:
    text = "Laboratory values (obtained within 10 days prior to enrollment): ANC: >= 1.5 × 109/L;"
    lab = _one(text, CriterionKind.LAB).lab
    assert (lab.analyte, lab.comparator, lab.value, lab.unit) == ("anc", ">=", 1.5, "10^9/L")


def test_it_reads_words_as_comparators() -> None:
    lab = _one("Absolute neutrophil count at least 1,500/mm^3", CriterionKind.LAB).lab
    assert (lab.comparator, lab.value, lab.unit) == (">=", 1500.0, "/mm^3")


def test_it_reads_no_greater_than_uln_as_one_times_uln() -> None:
    lab = _one("Bilirubin no greater than upper limit of normal (ULN)", CriterionKind.LAB).lab
    assert (lab.comparator, lab.value, lab.uln_multiple) == ("<=", 1.0, True)


def test_it_reads_creatinine_clearance() -> None:
    lab = _one("Creatinine clearance ≥ 60 mL/min (Cockcroft-Gault)", CriterionKind.LAB).lab
    assert (lab.analyte, lab.comparator, lab.value, lab.unit) == (
        "creatinine_clearance",
        ">=",
        60.0,
        "mL/min",
    )


def test_it_groups_creatinine_or_clearance_as_alternatives() -> None:
    criteria = parse_criteria(
        "Inclusion Criteria:\n- Serum creatinine ≤ 1.5 x ULN or creatinine clearance ≥ 50 mL/min"
    )
    assert [c.lab.analyte for c in criteria if c.lab] == ["creatinine", "creatinine_clearance"]
    assert all(c.any_of_group and c.group_id == "inc-1" for c in criteria)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("Eastern Cooperative Oncology Group (ECOG) performance status (PS) 0 or 1", 0, 1),
        ("Must have Eastern Cooperative Oncology Group (ECOG) performance status of 0-2.", 0, 2),
        ("ECOG performance status <= 2", None, 2),
        ("ECOG 0, 1 or 2", 0, 2),
    ],
)
def test_it_reads_ecog_ranges(text: str, low: int | None, high: int) -> None:
    structure = _one(text, CriterionKind.PERFORMANCE_STATUS)
    assert structure.terms == ("ecog",)
    assert (structure.bound.low, structure.bound.high) == (low, high)


def test_it_reads_karnofsky_limits() -> None:
    structure = _one("Karnofsky performance status >= 70%", CriterionKind.PERFORMANCE_STATUS)
    assert structure.terms == ("karnofsky",)
    assert structure.bound == NumericBound(low=70)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("Age ≥18 years (or per national guidelines).", 18, None),
        ("Aged 18-75 years", 18, 75),
        ("Patients must be 18 years of age or older", 18, None),
        ("Age between 20 and 80 years old", 20, 80),
    ],
)
def test_it_reads_age_ranges(text: str, low: int | None, high: int | None) -> None:
    bound = _one(text, CriterionKind.AGE).bound
    assert (bound.low, bound.high) == (low, high)


def test_it_reads_pdq_age_under_its_heading() -> None:
    criteria = parse_criteria(
        "PATIENT CHARACTERISTICS: Age: 18 and over Performance status: ECOG 0-2 "
        "Life expectancy: Not specified"
    )
    age = [c for c in criteria if c.kind is CriterionKind.AGE]
    ecog = [c for c in criteria if c.kind is CriterionKind.PERFORMANCE_STATUS]
    assert age[0].bound == NumericBound(low=18, unit="years")
    assert ecog[0].bound == NumericBound(low=0, high=2)


def test_it_reads_negated_biomarkers() -> None:
    found = extract_structures(
        "Estrogen receptor-positive and/or progesterone receptor-positive, HER2-negative breast "
        "cancer"
    )
    statuses = {s.biomarker.gene: s.biomarker.status for s in found if s.biomarker}
    assert statuses == {"ER": "positive", "PR": "positive", "HER2": "negative"}


def test_it_reads_wild_type_with_a_variant() -> None:
    found = _one(
        "Histologically or cytologically confirmed BRAFV600 wild-type melanoma",
        CriterionKind.BIOMARKER,
    )
    assert (found.biomarker.gene, found.biomarker.status) == ("BRAF", "wild-type")


def test_it_reads_a_mutation_requirement() -> None:
    found = _one(
        "Participants with non-squamous cell NSCLC whose disease harbors EGFR mutation(s)",
        CriterionKind.BIOMARKER,
    )
    assert (found.biomarker.gene, found.biomarker.status, found.present) == (
        "EGFR",
        "mutated",
        True,
    )


def test_it_reads_no_known_mutation_as_absence() -> None:
    found = extract_structures("No known EGFR mutation or ALK rearrangement")
    assert [(s.biomarker.gene, s.biomarker.status, s.present) for s in found if s.biomarker] == [
        ("EGFR", "mutated", False),
        ("ALK", "fusion", False),
    ]


def test_it_does_not_read_a_drug_class_as_a_biomarker() -> None:
    found = extract_structures("Prior treatment with an EGFR tyrosine kinase inhibitor")
    assert [s.kind for s in found] == [CriterionKind.PRIOR_THERAPY]
    assert found[0].therapy == TherapyRequirement(agent="egfr inhibitor")


def test_it_reads_no_prior_alk_inhibitor_as_negated() -> None:
    found = _one("No prior ALK inhibitor therapy", CriterionKind.PRIOR_THERAPY)
    assert (found.therapy.agent, found.present) == ("alk inhibitor", False)


def test_it_reads_a_washout_window() -> None:
    found = _one(
        "Participants who have had radiotherapy within 4 weeks prior to entering the study",
        CriterionKind.WASHOUT,
    )
    assert (found.therapy.agent, found.therapy.within_days, found.present) == (
        "radiotherapy",
        28,
        True,
    )


def test_it_reads_time_since_prior_therapy_as_a_negated_washout() -> None:
    found = _one("At least 4 weeks since prior chemotherapy", CriterionKind.WASHOUT)
    assert (found.therapy.within_days, found.present) == (28, False)


def test_it_reads_a_limit_on_prior_lines() -> None:
    found = _one(
        "No more than 2 prior lines of systemic therapy for metastatic disease",
        CriterionKind.PRIOR_THERAPY,
    )
    assert (found.therapy.max_lines, found.therapy.min_lines) == (2, None)


def test_it_reads_life_expectancy_in_months() -> None:
    bound = _one("Life expectancy of at least 12 weeks", CriterionKind.LIFE_EXPECTANCY).bound
    assert bound.low == pytest.approx(2.76, abs=0.01)


def test_it_reads_brain_metastases_with_qualifiers() -> None:
    found = _one(
        "Known active central nervous system (CNS) metastases and/or carcinomatous meningitis",
        CriterionKind.BRAIN_METASTASES,
    )
    assert found.terms == ("active",)


def test_it_keeps_contraception_lines_as_text() -> None:
    assert (
        extract_structures("Women of childbearing potential must use effective contraception") == []
    )


def test_it_splits_sections_numbering_and_nested_lists() -> None:
    text = """Inclusion Criteria:

  1. Age >= 18 years
  2. Adequate organ function:
       -  ANC >= 1.5 x 10^9/L
       -  Platelets >= 100,000/mm3
  3. Diagnosis of one of the following:
       a) Stage IV melanoma
       b) Stage IV renal cell carcinoma

Exclusion Criteria:

  -  Pregnant or breastfeeding women
  -  Known untreated brain metastases
"""
    criteria = parse_criteria(text)
    ids = [c.criterion_id for c in criteria]
    assert ids == ["inc-1", "inc-2.1", "inc-2.2", "inc-3.1", "inc-3.2", "exc-1", "exc-2"]
    assert [c.inclusion for c in criteria] == [True] * 5 + [False] * 2
    assert criteria[1].context == "Adequate organ function"
    assert criteria[3].any_of_group and criteria[3].group_id == "inc-3"
    assert not criteria[1].any_of_group


def test_it_reads_markdown_tables_row_by_row() -> None:
    text = "Inclusion Criteria:\n\n| Test | Limit |\n|---|---|\n| ANC | ≥ 1.5 x 10^9/L |\n"
    criteria = parse_criteria(text)
    assert [c.lab.analyte for c in criteria if c.lab] == ["anc"]


def test_it_keeps_non_english_lines_as_text() -> None:
    criteria = parse_criteria("入选标准：\n1. 年龄≥18岁\n2. ECOG 评分 0-1 分")
    assert criteria and all(c.kind is CriterionKind.TEXT for c in criteria)


def test_it_splits_plain_lines_without_bullets() -> None:
    text = "Inclusion Criteria:\n  histologically confirmed breast cancer\n  ECOG 0-1\n"
    criteria = parse_criteria(text)
    assert [c.kind for c in criteria] == [CriterionKind.CONDITION, CriterionKind.PERFORMANCE_STATUS]


def test_it_adds_record_level_age_and_sex() -> None:
    trial = TrialRecord(nct_id="NCT00000001", min_age_years=18, sex="female")
    criteria = criteria_for_trial(trial)
    assert [c.criterion_id for c in criteria] == ["record-age", "record-sex"]
    assert criteria[1].sex == "female"


@pytest.fixture(scope="module")
def shipped() -> dict[str, TrialRecord]:
    from inference.trials.corpus import load_shipped_trials

    return {t.nct_id: t for t in load_shipped_trials()}


def test_it_keeps_one_of_the_following_with_the_sentence_that_announces_it(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT00002873 wraps "... breast cancer of one / of the following histologies: ...".
    criteria = criteria_for_trial(shipped["NCT00002873"])
    texts = [c.text for c in criteria]
    assert not any(t.rstrip().endswith("of one") for t in texts)
    assert not any(t.startswith("of the following") for t in texts)
    first = next(c for c in criteria if "nonlobular invasive breast cancer" in c.text)
    assert "of one of the following histologies: Ductal" in first.text


def test_it_joins_a_pdq_line_cut_after_no_prior(shipped: dict[str, TrialRecord]) -> None:
    # NCT00002873: "Chemotherapy: No prior / chemotherapy for breast cancer".
    criteria = criteria_for_trial(shipped["NCT00002873"])
    assert not any(c.text == "No prior" for c in criteria)
    chemo = [c for c in criteria if c.text.startswith("No prior chemotherapy for breast cancer")]
    assert chemo and all(c.therapy and c.therapy.agent == "chemotherapy" for c in chemo)


def test_a_sentence_that_ends_in_a_colon_keeps_its_list() -> None:
    text = (
        "Inclusion Criteria:\n"
        + "Patients must have a confirmed diagnosis of a solid tumour and must meet one of the "
        + "following: Relapse after standard therapy. Refusal of standard therapy. No standard "
        + "therapy exists for the disease. Adequate bone marrow, liver and kidney function as "
        + "assessed by the treating physician within 14 days of registration."
    )
    texts = [c.text for c in parse_criteria(text)]
    assert texts[0].endswith(
        "one of the following: Relapse after standard therapy. Refusal of standard therapy. "
        "No standard therapy exists for the disease"
    )
    assert texts[1].startswith("Adequate bone marrow")


def test_no_prior_chemotherapy_or_radiotherapy_asks_for_neither(
    shipped: dict[str, TrialRecord],
) -> None:
    # NCT02413320: "No prior chemotherapy, endocrine therapy or radiation therapy ..." and
    # "... triple negative breast cancer who have not had definitive breast surgery or
    # received systemic chemotherapy": every part must hold, none rescues another.
    criteria = criteria_for_trial(shipped["NCT02413320"])
    no_prior = [c for c in criteria if c.text.startswith("No prior chemotherapy, endocrine")]
    assert {c.therapy.agent for c in no_prior if c.therapy} >= {"chemotherapy", "radiotherapy"}
    assert not any(c.any_of_group for c in no_prior)
    tnbc = [c for c in criteria if "triple negative breast cancer" in c.text]
    assert any(c.biomarker and c.biomarker.gene == "ER" for c in tnbc)
    assert not any(c.any_of_group for c in tnbc)


def test_an_exclusion_with_or_excludes_on_either_part() -> None:
    criteria = parse_criteria("Exclusion Criteria:\n- Prior chemotherapy or radiotherapy")
    assert len(criteria) == 2 and not any(c.any_of_group for c in criteria)


def test_a_nursing_home_or_skilled_nursing_facility_is_not_a_pregnancy_criterion() -> None:
    for line in (
        "Residents of a skilled nursing facility",
        "Patients living in a nursing home",
        "Requires 24-hour nursing care",
    ):
        kinds = {s.kind for s in extract_structures(line)}
        assert CriterionKind.PREGNANCY not in kinds, line
    assert CriterionKind.PREGNANCY in {s.kind for s in extract_structures("Nursing mothers")}
