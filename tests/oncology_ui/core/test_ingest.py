"""The shared ingest record and its status response, on every model that inherits them."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from oncology_ui.clinical.models import ClinicalImport
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.ingest import IngestRecord, ingest_status_response
from oncology_ui.core.models import Job
from oncology_ui.imaging.models import ImagingUpload
from oncology_ui.pathology.models import Slide
from oncology_ui.trials.models import TrialCorpusImport
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def _request(*, htmx: bool) -> AuthedRequest:
    request: AuthedRequest = RequestFactory().get(
        "/", headers={"HX-Request": "true"} if htmx else {}
    )  # type: ignore[assignment]
    request.htmx = HtmxDetails(request)
    return request


@pytest.mark.parametrize(
    ("record", "pending", "final"),
    [
        (ClinicalImport(), "received", "imported"),
        (ImagingUpload(), "received", "stored"),
        (Slide(), "processing", "ready"),
        (TrialCorpusImport(), "received", "imported"),
    ],
)
def test_it_is_finished_only_outside_the_pending_statuses(
    record: IngestRecord, pending: str, final: str
) -> None:
    record.status = pending
    assert not record.is_finished
    record.status = final
    assert record.is_finished


@pytest.mark.parametrize("record", [Slide(error="unreadable"), TrialCorpusImport()])
def test_records_that_keep_no_problem_list_list_none(record: IngestRecord) -> None:
    assert record.listed_problems == []


def test_it_shows_the_job_message_only_while_the_job_runs() -> None:
    record = ClinicalImport(job=Job(progress=40, message="Reading the file"))
    assert (record.progress, record.progress_text) == (40, "Received — Reading the file")
    record.status = ClinicalImport.Status.IMPORTED
    assert record.progress_text == "Imported"
    assert ClinicalImport().progress == 0


def test_it_summarises_a_clinical_import_in_words() -> None:
    summary = {"labs": {"new": 3, "already_present": 1}, "variants": {"new": 0}, "warnings": 2}
    record = ClinicalImport(status=ClinicalImport.Status.IMPORTED, summary=summary)
    assert record.outcome_summary == "labs: 3 new, 1 already there; variants: 0 new;"
    failed = ClinicalImport(
        status=ClinicalImport.Status.FAILED,
        problem_count=2,
        problems=[{"where": "line 3", "message": "no date"}],
    )
    assert failed.failure_message == "Nothing was imported: 2 problems. line 3: no date"
    assert failed.listed_problems == []  # the failure line names the first; the report has all


def test_it_summarises_an_imaging_upload_and_lists_its_first_problems() -> None:
    problems = [{"file": f"f{n}", "kind": "unreadable", "message": f"bad {n}"} for n in range(7)]
    upload = ImagingUpload(
        status=ImagingUpload.Status.STORED,
        counts={"series": 2, "instances": 40, "regions": 1, "quarantined": 3, "problems": 1},
        problems=problems,
    )
    assert upload.outcome_summary == (
        "2 series, 40 images, 1 regions, 3 held for review; 1 file problem"
    )
    assert [p["message"] for p in upload.listed_problems] == [f"bad {n}" for n in range(5)]


def test_it_stamps_the_finish_and_saves_only_what_changed(cast: Cast) -> None:
    upload = ImagingUpload.objects.create(case=cast.case, label="study.zip", incoming_key="k")
    upload.finish(ImagingUpload.Status.FAILED, error="gone")
    upload.refresh_from_db()
    assert (upload.status, upload.error) == ("failed", "gone")
    assert upload.finished_at is not None


def test_the_status_response_stops_polling_once_finished(cast: Cast) -> None:
    upload = ImagingUpload.objects.create(case=cast.case, label="study.zip", incoming_key="k")
    context = {"upload": upload, "case": cast.case, "patient": cast.patient}
    running = ingest_status_response(
        _request(htmx=True), upload, page="imaging/upload_detail.html", context=context
    )
    assert running.status_code == 200 and "HX-Trigger" not in running
    upload.finish(ImagingUpload.Status.STORED)
    done = ingest_status_response(
        _request(htmx=True), upload, page="imaging/upload_detail.html", context=context
    )
    assert done.status_code == 286
    assert json.loads(done["HX-Trigger"]) == {"job-finished": {}}
