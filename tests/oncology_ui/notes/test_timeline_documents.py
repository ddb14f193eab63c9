"""The timeline shows the case's documents beside its events, on the page and after an htmx edit
of the timeline (the swapped-in section used to lose the document rows until a reload)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.notes import services
from oncology_ui.notes.models import ClinicalDocument
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(cast: Cast) -> ClinicalDocument:
    return services.document_receive(
        case=cast.case,
        user=cast.oncologist,
        kind=ClinicalDocument.Kind.PATHOLOGY,
        title="Core biopsy left breast",
        author="Dr P. Example",
        document_date=dt.date(2024, 3, 2),
        text="Invasive ductal carcinoma. ER 90%.",
    )


def test_the_case_page_timeline_lists_the_documents(
    cast: Cast, oncologist_client: Client, document: ClinicalDocument
) -> None:
    url = reverse("patients-case-section", args=[cast.case.pk, "timeline"])
    content = oncologist_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Pathology report: Core biopsy left breast" in content


def test_adding_an_event_with_htmx_keeps_the_document_rows_in_the_timeline(
    cast: Cast, oncologist_client: Client, document: ClinicalDocument
) -> None:
    response = oncologist_client.post(
        reverse("patients-event-create", args=[cast.case.pk]),
        {"kind": "systemic_therapy", "date": "2024-04-01", "line_number": "1", "regimen": "AC-T"},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="section-timeline"')
    assert "Line 1: AC-T" in content
    assert "Pathology report: Core biopsy left breast" in content
    assert reverse("notes-document", args=[document.pk]) in content
    # In date order: the biopsy (2024-03-02) before the line of therapy (2024-04-01).
    assert content.index("Core biopsy left breast") < content.index("Line 1: AC-T")


def test_a_refused_htmx_event_keeps_the_document_rows_too(
    cast: Cast, oncologist_client: Client, document: ClinicalDocument
) -> None:
    response = oncologist_client.post(
        reverse("patients-event-create", args=[cast.case.pk]),
        {"kind": "systemic_therapy", "date": "2024-04-01"},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert "Name the regimen" in content
    assert "Pathology report: Core biopsy left breast" in content
