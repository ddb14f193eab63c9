"""Adding documents: pasted, .txt and PDF; hostile input refused with nothing stored; the case
page, the timeline, care-team scoping and audit rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import LazySettings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.notes.models import ClinicalDocument, ProposedFact
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.notes.conftest import NOTE, pdf_bytes, read_note

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _form(**extra: object) -> dict[str, object]:
    return {
        "kind": "pathology",
        "title": "Core biopsy",
        "author": "Dr P. Athologist",
        "document_date": "2025-01-08",
        **extra,
    }


def test_an_oncologist_pastes_a_note_and_its_facts_are_proposed_after_reading(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("notes-document-create", args=[cast.case.pk]), _form(text=NOTE), headers=HTMX
    )
    assert response.status_code == 200
    document = ClinicalDocument.objects.get(case=cast.case)
    assert (document.author, document.document_date, document.kind, document.source) == (
        "Dr P. Athologist",
        dt.date(2025, 1, 8),
        "pathology",
        "pasted",
    )
    assert f'id="document-{document.pk}"' in response.content.decode()
    assert document.job is not None and document.job.kind == "document_read"
    assert not ProposedFact.objects.exists()
    job_run(document.job.pk)
    poll = oncologist_client.get(reverse("notes-document", args=[document.pk]), headers=HTMX)
    assert poll.status_code == 286 and "job-finished" in json.loads(poll["HX-Trigger"])
    document.refresh_from_db()
    assert document.status == "read" and document.proposals.count() >= 20
    # Running the job again proposes nothing twice.
    count = document.proposals.count()
    job_run(document.job.pk)
    assert document.proposals.count() == count
    assert AccessLog.objects.filter(
        action="create", category="document", object_ref=f"document:{document.pk}"
    ).exists()


def test_a_text_file_and_a_pdf_with_a_text_layer_are_read(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("notes-document-create", args=[cast.case.pk])
    txt = SimpleUploadedFile("note.txt", "ECOG 1. ER 95% strong.".encode("cp1252"), "text/plain")
    assert oncologist_client.post(url, _form(file=txt)).status_code == 302
    pdf = SimpleUploadedFile(
        "report.pdf",
        pdf_bytes(["Final diagnosis: invasive carcinoma.", "ER 80%, HER2 3+."]),
        "application/pdf",
    )
    assert oncologist_client.post(url, _form(file=pdf)).status_code == 302
    text_doc, pdf_doc = ClinicalDocument.objects.order_by("id")
    assert text_doc.source == "text_file" and text_doc.original_name == "note.txt"
    assert pdf_doc.source == "pdf" and "HER2 3+" in pdf_doc.text
    assert pdf_doc.job is not None
    job_run(pdf_doc.job.pk)
    assert {p.label for p in pdf_doc.proposals.all()} >= {"HER2 IHC 3+ (positive)"}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("scan.pdf", pdf_bytes([]), "The PDF has no text layer"),
        ("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 100, "The PDF cannot be read"),
        ("note.txt", b"ECOG 1\x00\x01\x02" * 100, "binary data"),
        ("note.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG image"),
        ("note.txt", b"PK\x03\x04" + b"\x00" * 64, "ZIP archive"),
        ("note.txt", b"", "empty"),
        ("note.txt", b"\xff\xfe\x81\x8d\x8f\x90\x9d" * 10, "not UTF-8"),
    ],
)
def test_hostile_or_unreadable_files_are_refused_and_nothing_is_stored(
    cast: Cast, oncologist_client: Client, name: str, data: bytes, message: str
) -> None:
    upload = SimpleUploadedFile(name, data, "application/octet-stream")
    response = oncologist_client.post(
        reverse("notes-document-create", args=[cast.case.pk]), _form(file=upload)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClinicalDocument.objects.exists() and not Job.objects.exists()


def test_huge_documents_are_refused_cleanly(
    cast: Cast, oncologist_client: Client, settings: LazySettings
) -> None:
    url = reverse("notes-document-create", args=[cast.case.pk])
    huge = "Patient well. " * 20_000  # 280,000 characters
    response = oncologist_client.post(url, _form(text=huge))
    assert response.status_code == 400 and "the limit is 200,000" in response.content.decode()
    settings.NOTES_MAX_UPLOAD_BYTES = 1024
    big = SimpleUploadedFile("big.txt", b"ECOG 1. " * 1000, "text/plain")
    response = oncologist_client.post(url, _form(file=big))
    assert response.status_code == 400 and "the limit is" in response.content.decode()
    # Far over the limit: refused on the request's declared length, its body never read.
    bigger = SimpleUploadedFile("big.txt", b"ECOG 1. " * 140_000, "text/plain")
    assert oncologist_client.post(url, _form(file=bigger)).status_code == 413
    assert not ClinicalDocument.objects.exists()


def test_text_and_file_together_and_a_future_date_are_refused(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("notes-document-create", args=[cast.case.pk])
    both = SimpleUploadedFile("note.txt", b"ECOG 1", "text/plain")
    assert (
        "not both" in oncologist_client.post(url, _form(text="ECOG 1", file=both)).content.decode()
    )
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    response = oncologist_client.post(url, _form(text="ECOG 1", document_date=future))
    assert response.status_code == 400 and "future" in response.content.decode()
    assert oncologist_client.post(url, _form()).status_code == 400
    assert not ClinicalDocument.objects.exists()


def test_documents_are_on_the_case_page_and_its_timeline_with_the_waiting_count(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case)
    waiting = document.proposals.filter(status="proposed").count()
    page = oncologist_client.get(reverse("patients-case", args=[cast.case.pk])).content.decode()
    assert f"{waiting} facts read from documents wait for review" in page
    assert reverse("notes-document", args=[document.pk]) in page  # on the timeline
    section = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "documents"]), headers=HTMX
    )
    body = section.content.decode()
    assert section.status_code == 200 and 'id="section-documents"' in body
    assert "Oncology clinic" in body and "Dr A. Example" in body


def test_the_document_page_shows_the_text_and_the_queue_and_is_audited(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case)
    response = oncologist_client.get(reverse("notes-document", args=[document.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "ER 90% strong" in body and 'id="review-queue"' in body
    assert "<mark>ER 90% strong</mark>" in body
    assert AccessLog.objects.filter(
        action="view",
        category="document",
        object_ref=f"document:{document.pk}",
        patient_id_snapshot=cast.patient.pk,
    ).exists()


def test_another_teams_documents_and_facts_answer_404_and_are_audited(cast: Cast) -> None:
    document = read_note(cast.other_case)
    fact = document.proposals.first()
    assert fact is not None
    client = signed_in_client(cast.oncologist)
    urls = [
        ("get", reverse("notes-document", args=[document.pk])),
        ("post", reverse("notes-document-accept-all", args=[document.pk])),
        ("post", reverse("notes-fact-accept", args=[fact.pk])),
        ("post", reverse("notes-fact-reject", args=[fact.pk])),
        ("get", reverse("notes-fact-edit", args=[fact.pk])),
        ("post", reverse("notes-document-create", args=[cast.other_case.pk])),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 404, url
        assert cast.other_patient.family_name not in response.content.decode()
    assert AccessLog.objects.filter(action="denied").count() == len(urls)
    fact.refresh_from_db()
    assert fact.status == "proposed"


def test_roles_a_pathologist_adds_documents_but_only_an_oncologist_reviews(cast: Cast) -> None:
    document = read_note(cast.case)
    fact = document.proposals.first()
    assert fact is not None
    pathologist = signed_in_client(cast.pathologist)
    assert pathologist.get(reverse("notes-document", args=[document.pk])).status_code == 200
    assert (
        pathologist.post(
            reverse("notes-document-create", args=[cast.case.pk]), _form(text="ECOG 1")
        ).status_code
        == 302
    )
    assert pathologist.post(reverse("notes-fact-accept", args=[fact.pk])).status_code == 404
    coordinator = signed_in_client(cast.coordinator)
    assert coordinator.get(reverse("notes-document-create", args=[cast.case.pk])).status_code == 404


def test_wrong_methods_are_refused(cast: Cast, oncologist_client: Client) -> None:
    document = read_note(cast.case)
    fact = document.proposals.first()
    assert fact is not None
    assert oncologist_client.get(reverse("notes-fact-accept", args=[fact.pk])).status_code == 405
    assert oncologist_client.post(reverse("notes-document", args=[document.pk])).status_code == 405
