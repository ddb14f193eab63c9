"""The board packet: a background job with progress, contents, bookmarks and a named failure."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from oncology_ui.boards import services as board_services
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.reports import services
from tests.factories import CaseFactory
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.boards.helpers import prediction_create
from tests.oncology_ui.conftest import Cast
from tests.pdfs import pdf_pages

pytestmark = pytest.mark.django_db


def _outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    found: list[tuple[int, str, int]] = []

    def walk(entries: list[object], depth: int) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry, depth + 1)
            else:
                page = reader.get_destination_page_number(entry)  # type: ignore[arg-type]
                assert page is not None
                found.append((depth, entry.title, page + 1))  # type: ignore[attr-defined]

    walk(reader.outline, 0)  # type: ignore[arg-type]
    return found


def _three_cases(cast: Cast, boards: BoardCast) -> None:
    prediction_create(cast.case)
    for n in range(2):
        case = CaseFactory.create(patient=cast.patient, primary_diagnosis=f"Extra primary {n}")
        board_services.agenda_item_add(meeting=boards.meeting, case=case)


def test_the_packet_job_builds_cover_agenda_contents_and_every_case_with_bookmarks(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    _three_cases(cast, boards)
    oncologist_client.post(reverse("reports-packet-request", args=[boards.meeting.pk]))
    job = Job.objects.get(kind=services.PACKET_JOB)
    assert job_run(job.pk) == Job.Status.SUCCEEDED
    job.refresh_from_db()
    assert (job.progress, job.result["cases"]) == (100, 3)
    response = oncologist_client.get(reverse("reports-packet-download", args=[job.pk]))
    pdf = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    reader = PdfReader(io.BytesIO(pdf))
    pages = pdf_pages(pdf)
    assert "Breast tumor board — tumor board packet" in pages[0]
    assert "Agenda" in pages[1] and "Contents" in pages[1]
    outline = _outline(reader)
    top = [(title, page) for depth, title, page in outline if depth == 0]
    assert [title for title, _ in top][:2] == ["Breast tumor board — tumor board packet", "Agenda"]
    case_entries = [(title, page) for title, page in top if title.startswith("Case ")]
    assert len(case_entries) == 3
    for title, page in case_entries:
        assert title in pages[page - 1]  # each bookmark lands on its case's first page
        # The contents list the same page (extraction reads the right-aligned number first).
        assert f"{page} {title}" in pages[1] or f"{title} {page}" in pages[1]
    assert sum(1 for depth, title, _ in outline if depth == 1 and title == "Limitations") == 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
    row = AccessLog.objects.filter(action=AccessLog.Action.PRINT, category="board-packet").get()
    assert (row.object_ref, row.patient_id_snapshot) == (
        f"meeting:{boards.meeting.pk}",
        cast.patient.pk,
    )


def test_a_failed_case_names_itself_in_the_job_error(
    cast: Cast, boards: BoardCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_cases(cast, boards)
    broken = boards.meeting.items.get(order=2)
    real = services.case_report_data

    def failing(case: object, **kwargs: object) -> object:
        if getattr(case, "pk", None) == broken.case_id:
            raise RuntimeError("unreadable")
        return real(case, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "case_report_data", failing)
    job = services.packet_request(meeting=boards.meeting, user=cast.oncologist)
    assert job_run(job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    assert f"agenda item 2 (case {broken.case_id})" in job.error


def test_the_packet_status_shows_the_download_link_when_done(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    job = services.packet_request(meeting=boards.meeting, user=cast.oncologist)
    waiting = oncologist_client.get(reverse("reports-packet-status", args=[job.pk])).content
    assert b"Download board packet" not in waiting
    job_run(job.pk)
    done = oncologist_client.get(reverse("reports-packet-status", args=[job.pk])).content
    assert reverse("reports-packet-download", args=[job.pk]).encode() in done


def test_another_teams_packet_answers_404_with_one_denied_row(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    job = services.packet_request(meeting=boards.other_meeting, user=cast.outsider)
    job_run(job.pk)
    for name in ("reports-packet-status", "reports-packet-download", "core-job-status"):
        before = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()
        response = oncologist_client.get(reverse(name, args=[job.pk]))
        assert response.status_code == 404, name
        assert AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() == before + 1
