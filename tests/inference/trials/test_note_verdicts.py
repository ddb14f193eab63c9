"""The note-reading step for criteria the rule engine leaves unknown (inference.trials.verdicts).

Runs the shipped weights and the real all-MiniLM-L6-v2 encoder (installed with the app).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.trials.criteria import parse_criteria
from inference.trials.schema import CriterionKind, CriterionVerdict, Verdict
from inference.trials.verdicts import NoteDocument, read_criterion, read_unknown_verdicts
from inference.trials.verdicts.model import LABELS, fit, from_json, load
from inference.trials.verdicts.reader import WEIGHTS_PATH, WEIGHTS_SHA256, shipped_model
from inference.trials.verdicts.sentences import modifiers, split_sentences, stems

NOTE = (
    "Oncology clinic. 62-year-old woman with invasive ductal carcinoma of the left breast, "
    "histologically confirmed on core biopsy. MRI of the brain shows no evidence of metastases. "
    "She denies any history of heart failure. She has type 2 diabetes treated with metformin."
)
DOCS = (NoteDocument("document:7", "Oncology clinic", "Clinical note", dt.date(2025, 1, 10), NOTE),)
UNRELATED = (
    NoteDocument(
        "document:8",
        "Dermatology",
        "Letter",
        dt.date(2025, 1, 3),
        "The rash on the forearm improved with topical steroids. Review in three months.",
    ),
)


def test_an_inclusion_criterion_is_met_from_a_note_sentence_and_the_span_is_cited() -> None:
    reading = read_criterion("Histologically confirmed invasive breast cancer", True, True, DOCS)
    assert reading.verdict is Verdict.MET
    assert reading.probability > 0.5 and not reading.abstained
    assert reading.document is DOCS[0]
    assert "invasive ductal carcinoma" in reading.sentence
    assert NOTE[reading.start : reading.end] == reading.sentence


def test_a_negated_sentence_gives_not_excluded_for_an_exclusion() -> None:
    reading = read_criterion("Known brain metastases", False, False, DOCS)
    assert reading.verdict is Verdict.NOT_MET
    assert reading.sentence == "MRI of the brain shows no evidence of metastases."


def test_a_negated_sentence_gives_not_met_for_an_inclusion_that_requires_the_condition() -> None:
    reading = read_criterion("History of congestive heart failure", True, True, DOCS)
    assert reading.verdict is Verdict.NOT_MET
    assert reading.rule and "negates" in reading.rule


def test_an_affirmed_excluding_condition_is_met_not_presumed_absent() -> None:
    reading = read_criterion("Diabetes mellitus", False, True, DOCS)
    assert reading.verdict is Verdict.MET
    assert "diabetes" in reading.sentence


def test_an_unrelated_note_leaves_an_inclusion_unknown_and_presumes_an_exclusion_absent() -> None:
    inclusion = read_criterion(
        "Histologically confirmed invasive breast cancer", True, True, UNRELATED
    )
    assert inclusion.verdict is Verdict.UNKNOWN and not inclusion.cited
    exclusion = read_criterion("Active hepatitis B infection", False, True, UNRELATED)
    # As the physicians annotated: a condition a note does not mention is taken as absent,
    # and the page says so ("not mentioned in the documents") instead of citing a sentence.
    assert exclusion.verdict is Verdict.NOT_MET and not exclusion.cited


def test_a_relatives_finding_never_decides_a_criterion_about_the_patient() -> None:
    from inference.trials.verdicts.model import ABOUT_A_RELATIVE

    family = (
        NoteDocument(
            "document:9",
            "Genetics clinic",
            "Clinical note",
            dt.date(2025, 1, 10),
            "Postmenopausal woman with invasive ductal carcinoma. Sister carries a BRCA2 "
            "mutation. Patient's own germline testing is pending.",
        ),
    )
    patient = read_criterion(
        "The patient must be a carrier of a deleterious mutation in BRCA 1/2.", True, True, family
    )
    assert patient.verdict is Verdict.UNKNOWN and patient.abstained
    assert patient.rule == ABOUT_A_RELATIVE
    about_family = read_criterion("Documented BRCA mutation in the family", True, True, family)
    assert about_family.rule != ABOUT_A_RELATIVE


def _one_document(kind: str, text: str) -> tuple[NoteDocument, ...]:
    return (NoteDocument("document:3", kind, kind, dt.date(2025, 1, 10), text),)


def test_an_invasive_diagnosis_never_makes_an_in_situ_criterion_met() -> None:
    from inference.trials.verdicts.model import OTHER_BEHAVIOUR, other_behaviour

    pathology = _one_document(
        "Pathology report",
        "Right breast core biopsy: invasive ductal carcinoma, grade 2. ER positive.",
    )
    reading = read_criterion("Diagnosis of ductal carcinoma in situ (DCIS)", True, True, pathology)
    assert reading.verdict is Verdict.UNKNOWN and reading.abstained
    assert reading.rule == OTHER_BEHAVIOUR
    assert other_behaviour("Invasive breast cancer", "Biopsy showed DCIS, grade 2.")
    assert not other_behaviour("Invasive breast cancer", "Invasive ductal carcinoma with DCIS.")
    assert not other_behaviour("ECOG 0-1", "Invasive ductal carcinoma.")


def test_a_consent_criterion_never_cites_a_note_sentence() -> None:
    letter = _one_document(
        "Clinical note",
        "Woman with invasive ductal carcinoma. CONSENT: discussed surgery risks. PLAN: letrozole.",
    )
    # The heading shares the word; consent to a trial cannot be read from an earlier note.
    reading = read_criterion("Able to give informed consent", True, True, letter)
    assert not reading.cited and reading.sentence == ""


def test_headings_are_never_cited_as_evidence() -> None:
    report = "SURGICAL PATHOLOGY REPORT\nDiagnosis:\nInvasive ductal carcinoma, grade 2.\nDCIS."
    assert [s.text for s in split_sentences(report)] == [
        "Invasive ductal carcinoma, grade 2.",
        "DCIS.",
    ]
    letter = _one_document(
        "Clinical note", "Past medical history:\nHypertension.\nBREAST ONCOLOGY CLINIC NOTE"
    )
    reading = read_criterion("History of other malignancy", False, True, letter)
    assert reading.sentence not in {"Past medical history:", "BREAST ONCOLOGY CLINIC NOTE"}


def test_the_step_is_deterministic() -> None:
    first = read_criterion("Diabetes mellitus", True, True, DOCS)
    second = read_criterion("Diabetes mellitus", True, True, DOCS)
    assert first == second


def test_only_unknown_engine_verdicts_are_read_and_decided_ones_cite_the_note() -> None:
    criteria = parse_criteria(
        "Inclusion Criteria:\n- Age 18 years or older\n- Histologically confirmed invasive "
        "breast cancer\nExclusion Criteria:\n- Known brain metastases\n"
    )
    engine = tuple(
        CriterionVerdict(c, Verdict.MET if c.kind is CriterionKind.AGE else Verdict.UNKNOWN)
        for c in criteria
    )
    verdicts, readings = read_unknown_verdicts(engine, DOCS)
    age = next(v for v in verdicts if v.criterion.kind is CriterionKind.AGE)
    assert age is engine[0] and age.criterion.criterion_id not in readings
    read = [v for v in verdicts if v.criterion.criterion_id in readings]
    assert read and all(v.verdict is not Verdict.UNKNOWN for v in read)
    for v in read:
        assert v.evidence[0].source == "Oncology clinic"
        assert "not a reviewed fact" in v.explanation and shipped_model().version in v.explanation
    assert read_unknown_verdicts(engine, ()) == (engine, {})


def test_the_shipped_weights_load_only_with_their_pinned_sha256(tmp_path: Path) -> None:
    model = load(WEIGHTS_PATH, WEIGHTS_SHA256)
    assert model.labels == LABELS and model.version.startswith("criterion-verdicts")
    tampered = tmp_path / "criterion_verdicts.json"
    shutil.copy(WEIGHTS_PATH, tampered)
    obj = json.loads(tampered.read_text())
    obj["threshold"] = 0.0
    tampered.write_text(json.dumps(obj))
    with pytest.raises(ValueError, match="sha256"):
        load(tampered, WEIGHTS_SHA256)
    obj["features"] = ["something", "else"]
    with pytest.raises(ValueError, match="features"):
        from_json(obj)


def test_fitting_is_deterministic_and_learns_a_separable_rule() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(shipped_model().features)))
    y = (x[:, 0] > 0).astype(int)  # met vs not met on the first feature
    a, b = fit(x, y, steps=300), fit(x, y, steps=300)
    assert np.array_equal(a.weights, b.weights)
    assert np.mean(a.probabilities(x).argmax(axis=1) == y) > 0.95


def test_sentences_keep_their_spans_and_context_flags_read_the_right_clause() -> None:
    text = "0. She is 40.\n1. Father had colon cancer. Rule out pneumonia."
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "She is 40.",
        "Father had colon cancer.",
        "Rule out pneumonia.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)
    assert modifiers("Father had colon cancer.", stems("colon cancer")).family
    assert modifiers("Rule out pneumonia.", stems("pneumonia")).hypothetical
    assert not modifiers("No fever, but she has pneumonia.", stems("pneumonia")).negated
