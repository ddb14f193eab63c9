"""Documents sent as FHIR R4 JSON: a DocumentReference with a text or PDF attachment and a
DiagnosticReport with a conclusion are read with their own metadata; other resources, textless
ones and deeply nested JSON are refused with nothing stored."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from oncology_ui.core.models import Job
from oncology_ui.notes.fhir import MAX_DEPTH, nesting_depth
from oncology_ui.notes.models import ClinicalDocument
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.notes.conftest import pdf_bytes

pytestmark = pytest.mark.django_db


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _document_reference(data: bytes, content_type: str = "text/plain") -> bytes:
    return json.dumps(
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11526-1"}]},
            "date": "2025-01-08T10:30:00Z",
            "author": [{"reference": "Practitioner/p1", "display": "Dr P. Athologist"}],
            "description": "Core biopsy, left breast",
            "content": [{"attachment": {"contentType": content_type, "data": _b64(data)}}],
        }
    ).encode()


def _upload(cast: Cast, client: Client, data: bytes, **fields: str) -> object:
    upload = SimpleUploadedFile("document.json", data, "application/fhir+json")
    return client.post(
        reverse("notes-document-create", args=[cast.case.pk]), {"file": upload, **fields}
    )


def test_a_document_reference_fills_type_title_author_and_date_from_itself(
    cast: Cast, oncologist_client: Client
) -> None:
    response = _upload(cast, oncologist_client, _document_reference(b"ER 95% strong. HER2 1+."))
    assert response.status_code == 302  # type: ignore[attr-defined]
    document = ClinicalDocument.objects.get()
    assert (document.kind, document.title, document.author, document.document_date) == (
        "pathology",
        "Core biopsy, left breast",
        "Dr P. Athologist",
        dt.date(2025, 1, 8),
    )
    assert document.source == "fhir" and document.text == "ER 95% strong. HER2 1+."


def test_a_pdf_attachment_is_read_through_its_text_layer_and_the_form_wins(
    cast: Cast, oncologist_client: Client
) -> None:
    data = _document_reference(
        pdf_bytes(["Seen in clinic today. ECOG 1. Stage IIB."]), "application/pdf"
    )
    response = _upload(cast, oncologist_client, data, title="Clinic letter", kind="letter")
    assert response.status_code == 302  # type: ignore[attr-defined]
    document = ClinicalDocument.objects.get()
    assert (document.title, document.kind) == ("Clinic letter", "letter")
    assert "ECOG 1" in document.text


def test_a_diagnostic_reports_conclusion_is_read(cast: Cast, oncologist_client: Client) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [{"coding": [{"code": "RAD"}]}],
        "code": {"text": "MRI brain with contrast"},
        "effectiveDateTime": "2025-01-05",
        "resultsInterpreter": [{"display": "Dr R. Adiologist"}],
        "conclusion": "No brain metastases.",
    }
    assert _upload(cast, oncologist_client, json.dumps(report).encode()).status_code == 302  # type: ignore[attr-defined]
    document = ClinicalDocument.objects.get()
    assert (document.kind, document.title, document.author) == (
        "radiology",
        "MRI brain with contrast",
        "Dr R. Adiologist",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"resourceType": "DocumentReference", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "nested deeper than",
        ),
        (json.dumps({"resourceType": "Patient", "id": "x"}).encode(), "it is a Patient"),
        (b'{"resourceType": "DocumentReference", "content": []}', "no text attachment"),
        (
            b'{"resourceType": "DocumentReference", "content": [{"attachment": {"data": "@@"}}]}',
            "base64",
        ),
        (b"{not json", "not valid JSON"),
    ],
)
def test_hostile_or_empty_fhir_is_refused_and_nothing_is_stored(
    cast: Cast, oncologist_client: Client, data: bytes, message: str
) -> None:
    response = _upload(cast, oncologist_client, data)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.content.decode()  # type: ignore[attr-defined]
    assert not ClinicalDocument.objects.exists() and not Job.objects.exists()


def test_metadata_that_neither_the_form_nor_the_file_gives_is_asked_for(
    cast: Cast, oncologist_client: Client
) -> None:
    bare = {
        "resourceType": "DocumentReference",
        "content": [{"attachment": {"contentType": "text/plain", "data": _b64(b"ECOG 1")}}],
    }
    response = _upload(cast, oncologist_client, json.dumps(bare).encode())
    body = response.content.decode()  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert body.count("the document does not say it") == 4
    assert not ClinicalDocument.objects.exists()


def test_nesting_depth_skips_brackets_inside_strings() -> None:
    assert nesting_depth(b'{"a": "[[[[[[[[", "b": [{"c": "\\"]]]"}]}') == 3
    assert nesting_depth(b"[" * (MAX_DEPTH + 1)) == MAX_DEPTH + 1
