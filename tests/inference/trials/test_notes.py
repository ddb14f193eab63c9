from __future__ import annotations

import datetime as dt

from inference.trials.notes import facts_from_note

NOTE_DAY = dt.date(2021, 4, 27)


def test_it_reads_demographics_stage_and_performance_status() -> None:
    facts = facts_from_note(
        "t1",
        "A 62-year-old woman with stage IIIB non-small cell lung cancer, ECOG performance "
        "status 1. She has no brain metastases on MRI.",
        NOTE_DAY,
    )
    assert (facts.age_years, facts.sex) == (62.0, "female")
    assert facts.stage is not None and facts.stage.value == "IIIB"
    assert facts.ecog is not None and facts.ecog.value == 1 and facts.ecog.date == NOTE_DAY
    assert facts.brain_metastases is not None and facts.brain_metastases.value is False


def test_it_reads_labs_with_and_without_units() -> None:
    facts = facts_from_note(
        "t2", "He is 8 months old. Hemoglobin 9.1 g/dL, WBC 17,580, platelets 250.", NOTE_DAY
    )
    labs = {lab.name: lab for lab in facts.labs}
    assert facts.age_years == 0.667
    assert (labs["hemoglobin"].value, labs["hemoglobin"].unit, labs["hemoglobin"].source) == (
        9.1,
        "g/dL",
        "note",
    )
    assert labs["wbc"].unit == "/uL" and "range" in labs["wbc"].source
    assert labs["platelets"].unit == "10^9/L"


def test_it_reads_biomarkers_and_their_negation() -> None:
    facts = facts_from_note(
        "t3", "Adenocarcinoma with an EGFR L858R mutation; ALK negative.", NOTE_DAY
    )
    markers = {(b.name, b.status, b.variant) for b in facts.biomarkers}
    assert ("EGFR", "mutated", "L858R") in markers
    assert ("ALK", "negative", "") in markers


def test_it_leaves_unstated_facts_unknown() -> None:
    facts = facts_from_note("t4", "Patient presents with cough.", NOTE_DAY)
    assert facts.age_years is None and facts.ecog is None and facts.pregnant is None
    assert facts.labs == () and facts.biomarkers == ()


def test_it_reads_a_current_pregnancy_but_not_a_past_or_tested_negative_one() -> None:
    def pregnant(text: str) -> bool | None:
        fact = facts_from_note("t5", text, NOTE_DAY).pregnant
        return None if fact is None else fact.value

    assert pregnant("A 27-year-old woman at 11 weeks gestation is seen for anaemia.") is True
    assert pregnant("Urine pregnancy test with a 25 mIU/ml cut-off is negative.") is False
    assert pregnant("She denies pregnancy.") is False
    assert pregnant("History remarkable for an ectopic pregnancy at age 26.") is None
    assert pregnant("She is G2P1 and desires pregnancy.") is None
