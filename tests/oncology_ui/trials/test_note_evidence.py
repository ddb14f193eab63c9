"""Criteria the facts leave unknown are read from the case's documents and shown as suggestions.

Real database, the notes service to store the document, the matching job and the shipped
note-reading weights; nothing mocked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from inference.trials.verdicts import shipped_model
from oncology_ui.core.jobs import job_run
from oncology_ui.notes import services as notes_services
from oncology_ui.notes.models import ClinicalDocument, ProposedFact
from oncology_ui.trials.models import TrialMatchResult
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.trials.factories import fit_breast_case, import_trials, trial_record

pytestmark = pytest.mark.django_db

SENTENCE = "MRI of the brain shows no evidence of metastases."
NOTE = (
    "Oncology clinic review. Invasive ductal carcinoma of the left breast on core biopsy. "
    f"{SENTENCE} She is well and active."
)


def _document(cast: Cast, text: str = NOTE) -> ClinicalDocument:
    return notes_services.document_receive(
        case=cast.case,
        user=cast.oncologist,
        kind=ClinicalDocument.Kind.CLINICAL_NOTE,
        title="Clinic review",
        author="Dr A. Example",
        document_date=dt.date(2025, 1, 10),
        text=text,
    )


def _match(cast: Cast, client: Client) -> TrialMatchResult:
    import_trials(trial_record())
    fit_breast_case(cast.case)
    response = client.post(reverse("trials-match", args=[cast.case.pk]))
    assert response.status_code == 302
    result = TrialMatchResult.objects.get(case=cast.case)
    assert result.job is not None
    job_run(result.job.pk)
    result.refresh_from_db()
    return result


def _first(result: TrialMatchResult) -> dict[str, Any]:
    assert result.matches
    first: dict[str, Any] = result.matches[0]
    return first


def _brain(result: TrialMatchResult) -> dict[str, Any]:
    verdicts = _first(result)["verdicts"]
    return next(v for v in verdicts if v["kind"] == "brain_metastases")


def test_the_case_page_shows_the_cited_sentence_probability_and_model_version(
    cast: Cast, oncologist_client: Client
) -> None:
    document = _document(cast)
    result = _match(cast, oncologist_client)
    brain = _brain(result)
    # The engine's verdict stays that of the reviewed facts; the reading sits beside it.
    assert brain["verdict"] == "unknown"
    reading = brain["note_reading"]
    assert reading["verdict"] == "not_met" and reading["decided"]
    assert reading["sentence"] == SENTENCE and reading["document_id"] == document.pk
    assert NOTE[reading["start"] : reading["end"]] == SENTENCE
    assert _first(result)["n_note_suggested"] >= 1
    assert any("Clinic review" in line for line in result.facts_used)
    page = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "trials"])
    ).content.decode()
    assert SENTENCE in page
    assert shipped_model().version in page
    assert "suggested from a note: not met" in page and "not a reviewed fact" in page
    assert reverse("notes-document", args=[document.pk]) in page
    assert "suggested from notes" in page


def test_unaccepted_proposed_facts_do_not_change_the_engine_verdicts(
    cast: Cast, oncologist_client: Client
) -> None:
    document = _document(cast)
    assert document.job is not None
    job_run(document.job.pk)  # the reading proposes facts; none is accepted
    assert ProposedFact.objects.filter(case=cast.case, status="accepted").count() == 0
    result = _match(cast, oncologist_client)
    brain = _brain(result)
    assert brain["verdict"] == "unknown" and brain["evidence"] == []
    assert _first(result)["n_unknown"] >= 1


def test_without_documents_nothing_is_read_and_no_document_is_named(
    cast: Cast, oncologist_client: Client
) -> None:
    result = _match(cast, oncologist_client)
    brain = _brain(result)
    assert "note_reading" not in brain
    assert _first(result)["n_note_suggested"] == 0
    assert not any("document read" in line for line in result.facts_used)
    page = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "trials"])
    ).content.decode()
    assert "suggested from a note" not in page


def test_an_exclusion_the_documents_never_mention_is_shown_as_taken_as_absent(
    cast: Cast, oncologist_client: Client
) -> None:
    _document(cast)
    import_trials(
        trial_record(
            eligibility_text=(
                "Inclusion Criteria:\n- Invasive breast cancer\n"
                "Exclusion Criteria:\n- Active hepatitis B infection\n"
            )
        )
    )
    fit_breast_case(cast.case)
    oncologist_client.post(reverse("trials-match", args=[cast.case.pk]))
    result = TrialMatchResult.objects.get(case=cast.case)
    assert result.job is not None
    job_run(result.job.pk)
    result.refresh_from_db()
    hepatitis = next(v for v in _first(result)["verdicts"] if "hepatitis" in v["text"])
    assert hepatitis["verdict"] == "unknown"
    assert hepatitis["note_reading"]["verdict"] == "not_met"
    assert hepatitis["note_reading"]["document_id"] is None
    page = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "trials"])
    ).content.decode()
    assert "Not mentioned in the documents read: taken as absent" in page


def test_reverse_screening_reads_each_cases_documents_too(
    cast: Cast, coordinator_client: Client
) -> None:
    from oncology_ui.trials.models import ReverseMatchRun

    document = _document(cast)
    import_trials(trial_record())
    fit_breast_case(cast.case)
    coordinator_client.post(reverse("trials-reverse-match", args=["NCT90000001"]))
    run = ReverseMatchRun.objects.get()
    assert run.job is not None
    job_run(run.job.pk)
    run.refresh_from_db()
    assert run.matches
    (row,) = [m for m in run.matches if m["patient_id"] == f"case:{cast.case.pk}"]
    brain = next(v for v in row["verdicts"] if v["kind"] == "brain_metastases")
    assert brain["verdict"] == "unknown"  # the engine's verdict stays that of the facts
    assert brain["note_reading"]["verdict"] == "not_met"
    assert brain["note_reading"]["document_id"] == document.pk
    page = coordinator_client.get(
        reverse("trials-reverse-ranking", args=["NCT90000001"]), headers={"HX-Request": "true"}
    ).content.decode()
    assert SENTENCE in page
