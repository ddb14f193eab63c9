"""The case report PDF, read back by text extraction."""

from __future__ import annotations

import socket
import threading

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.core.models import AccessLog
from oncology_ui.reports import services
from oncology_ui.reports.build import case_report_data
from oncology_ui.reports.pdf import CASE_HEADINGS, render_case_report
from tests.oncology_ui.boards.conftest import BoardCast, decision_signed
from tests.oncology_ui.boards.helpers import prediction_create
from tests.oncology_ui.conftest import Cast
from tests.pdfs import pdf_pages

pytestmark = pytest.mark.django_db


def _signed(cast: Cast, boards: BoardCast, notes: str = "Discussed in full.") -> None:
    decision_signed(
        cast,
        boards,
        therapy="Letrozole + palbociclib",
        discussion_notes=notes,
        agreeing=[cast.pathologist],
    )


def test_the_identified_report_prints_identifiers_every_heading_and_the_decision(
    cast: Cast, boards: BoardCast
) -> None:
    prediction_create(cast.case, one_year=0.82)
    _signed(cast, boards)
    text = " ".join(pdf_pages(services.case_report_pdf(case=cast.case, deidentified=False)))
    assert cast.patient.mrn in text
    assert cast.patient.family_name.upper() in text
    assert "1961-04-12" in text
    for heading in CASE_HEADINGS:
        assert heading in text, heading
    assert "82% 74% – 88%" in text  # the stored 1-year figure with its interval
    assert "Modality contributions" in text and "Hallmark profile" in text
    # No expression was imported: the hallmark block says so instead of printing zeros.
    assert "No expression profile measured; hallmark programmes cannot be scored." in text
    assert "Letrozole + palbociclib" in text
    assert f"Electronically signed by {cast.oncologist.get_full_name()}" in text
    assert "Reviewed and approved as the board's recommendation" in text
    # The case has no ranking, trial matches or slides: each section says so in its own line.
    for title in ("Therapy ranking", "Trial matches", "Slide thumbnail"):
        assert title in text
    assert text.count("Not available") >= 3


def test_the_deidentified_report_prints_no_identifiers(cast: Cast, boards: BoardCast) -> None:
    prediction_create(cast.case)
    _signed(cast, boards, notes="Spoke with ZZCANARY-FAMILY relatives")
    text = " ".join(pdf_pages(services.case_report_pdf(case=cast.case, deidentified=True)))
    assert "ZZCANARY" not in text
    assert cast.patient.mrn not in text
    assert "1961-04-12" not in text and "2024-02-01" not in text  # dates become days
    assert "day +0" in text
    assert "De-identified" in text
    for heading in CASE_HEADINGS:
        assert heading in text, heading


def test_every_page_has_the_footer_with_model_hash_and_page_x_of_y(
    cast: Cast, boards: BoardCast
) -> None:
    prediction_create(cast.case)
    # Very long notes and many lines: the report must run over several pages cleanly.
    _signed(cast, boards, notes="\n".join(f"Point {n}: " + "word " * 40 for n in range(200)))
    pages = pdf_pages(services.case_report_pdf(case=cast.case, deidentified=False))
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert "Model oncofusion 1.4.0" in text
        assert "ab12" * 16 in text
        assert "Knowledge base not available" in text
        assert "Generated " in text and " UTC" in text
        assert f"Page {number} of {len(pages)}" in text
    assert "Point 199:" in pages[-1] or "Point 199:" in " ".join(pages)


def test_a_case_without_analysis_or_decision_says_not_available(cast: Cast) -> None:
    text = " ".join(pdf_pages(services.case_report_pdf(case=cast.case, deidentified=False)))
    assert "Not available: no model analysis has been run for this case." in text
    assert "Not available: the board has not recorded a decision for this case." in text
    assert "Model: none" in text


def test_a_report_is_built_from_the_stored_prediction_not_a_model_call(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    prediction_create(cast.case, one_year=0.61)

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report must not run the model")

    monkeypatch.setattr("oncology_ui.analysis.services.analysis_request", no_model)
    data = case_report_data(cast.case)
    assert data.prognosis is not None and data.prognosis.landmarks[0].survival == 0.61


def test_markup_in_user_text_prints_literally_and_fetches_nothing(
    cast: Cast, boards: BoardCast, listener: tuple[int, list[bytes]]
) -> None:
    port, seen = listener
    hostile = (
        f'<font color="red" size="40">BIG</font> <a href="javascript:alert(1)">click</a> '
        f'<img src="http://127.0.0.1:{port}/beacon.png" width="10" height="10"/>'
    )
    prediction_create(cast.case)
    decision_signed(
        cast,
        boards,
        therapy=hostile,
        discussion_notes=hostile,
        is_discordant=True,
        discordance_reason=hostile,
    )
    pdf = services.case_report_pdf(case=cast.case, deidentified=False)
    text = " ".join(pdf_pages(pdf))
    assert '<font color="red" size="40">BIG</font>' in text
    assert '<a href="javascript:alert(1)">click</a>' in text
    assert f"http://127.0.0.1:{port}/beacon.png" in text
    assert b"/URI" not in pdf and b"javascript" not in pdf.replace(b"javascript:alert", b"")
    threading.Event().wait(0.5)  # give a (wrong) fetch time to arrive
    assert seen == []


def test_the_listener_would_see_a_real_fetch(listener: tuple[int, list[bytes]]) -> None:
    """The injection test's listener works: a real connection is recorded."""
    port, seen = listener
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
    threading.Event().wait(0.5)
    assert seen and seen[0].startswith(b"GET")


def test_the_download_is_audited_as_print_and_checked(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.get(reverse("reports-case-report", args=[cast.case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    row = AccessLog.objects.filter(action=AccessLog.Action.PRINT).get()
    assert (row.patient_id_snapshot, row.object_ref, row.category) == (
        cast.patient.pk,
        f"case:{cast.case.pk}",
        "case-report",
    )
    deid = oncologist_client.get(
        reverse("reports-case-report", args=[cast.case.pk]) + "?deidentified=1"
    )
    assert deid.status_code == 200
    assert AccessLog.objects.filter(category="case-report-deidentified").count() == 1


def test_rendering_is_a_pure_function_of_the_data(cast: Cast) -> None:
    prediction_create(cast.case)
    data = case_report_data(cast.case)
    first = pdf_pages(render_case_report(data))
    assert pdf_pages(render_case_report(data)) == first
