"""The case-page section, the model input built from slides, and the report's slide section."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.analysis.adapters import case_inputs_from_snapshot, case_snapshot
from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.analysis.sections import portrait_inputs_view
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from oncology_ui.pathology.models import Slide
from oncology_ui.pathology.sections import pathology_section
from oncology_ui.pathology.services import media_path
from oncology_ui.patients.models import Case
from oncology_ui.reports.sources import optional_sections
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.pathology.factories import ProcessedFiles, SlideFactory

pytestmark = pytest.mark.django_db


def test_the_case_page_lists_slides_with_thumbnail_metadata_and_qc(
    ready_slide: Slide, oncologist_client: Client, cast: Cast
) -> None:
    Slide.objects.filter(pk=ready_slide.pk).update(
        qc_state="warn", qc_messages=["ZZ pen marks cover 12% of the tissue."]
    )
    response = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "pathology"])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("pathology-thumbnail", args=[ready_slide.pk]) in html
    assert reverse("pathology-viewer", args=[ready_slide.pk]) in html
    assert reverse("pathology-upload", args=[cast.case.pk]) in html
    assert "0.500" in html and "H&amp;E" in html and "ZZ pen marks" in html
    assert f"{ready_slide.tile_count} tiles" in html
    assert "1 slide ready" in html and f"{ready_slide.tile_count} tissue tiles" in html
    assert "Nuclear density" in html
    assert "Research use only" in html


def test_a_slide_in_processing_polls_and_refreshes_the_section(
    cast: Cast, oncologist_client: Client
) -> None:
    job = Job.objects.create(
        kind="slide_ingest", target_model="pathology.slide", target_id=0, progress=40,
        message="De-identifying: 10 of 25 tiles",
    )  # fmt: skip
    slide = SlideFactory.create(case=cast.case, job=job, status=Slide.Status.PROCESSING)
    Job.objects.filter(pk=job.pk).update(target_id=slide.pk)
    url = reverse("patients-case-section", args=[cast.case.pk, "pathology"])

    response = oncologist_client.get(url, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert 'hx-trigger="job-finished from:body"' in html
    assert reverse("core-job-status", args=[job.pk]) in html
    assert "De-identifying: 10 of 25 tiles" in html
    status = oncologist_client.get(
        reverse("core-job-status", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert status.status_code == 200


def test_a_failed_slide_shows_its_message(cast: Cast, oncologist_client: Client) -> None:
    SlideFactory.create(
        case=cast.case, status=Slide.Status.FAILED,
        error="this file could not be read: the file is incomplete (truncated)",
    )  # fmt: skip
    url = reverse("patients-case-section", args=[cast.case.pk, "pathology"])
    html = oncologist_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "the file is incomplete (truncated)" in html


def test_the_section_loader_needs_at_most_two_queries(
    cast: Cast, processed_files: ProcessedFiles, rf: object, django_assert_max_num_queries: object
) -> None:
    for _ in range(3):
        SlideFactory.ready(files=processed_files, case=cast.case)
    request = rf.get("/")  # type: ignore[attr-defined]
    request.user = cast.oncologist
    request.user.has_perm("pathology.view_slide")  # permission cache filled outside the count
    with django_assert_max_num_queries(2):  # type: ignore[operator]
        context = pathology_section(request, cast.case)
    assert len(context["slides"]) == 3


def test_retired_slides_leave_the_page_and_the_model_input(ready_slide: Slide, cast: Cast) -> None:
    Slide.objects.filter(pk=ready_slide.pk).update(status=Slide.Status.RETIRED)
    assert case_snapshot(cast.case)["slides"] is None


def test_the_snapshot_references_features_and_the_model_input_loads_them(
    ready_slide: Slide, cast: Cast, processed_files: ProcessedFiles
) -> None:
    snapshot = case_snapshot(cast.case)

    (entry,) = snapshot["slides"]
    assert entry["slide_id"] == str(ready_slide.pk)
    assert entry["features_path"] == ready_slide.features_path
    assert entry["features_sha256"] == ready_slide.features_sha256
    assert entry["encoder_name"] == "he-morphology"
    inputs = case_inputs_from_snapshot(snapshot)
    (slide_input,) = inputs.slides
    assert slide_input.slide_id == str(ready_slide.pk)
    assert slide_input.tile_features.shape == (ready_slide.tile_count, 18)
    assert slide_input.tile_features.dtype == np.float32
    assert slide_input.tile_coordinates.shape == (ready_slide.tile_count, 2)


def test_a_features_file_changed_after_the_snapshot_is_left_out(
    ready_slide: Slide, cast: Cast
) -> None:
    snapshot = case_snapshot(cast.case)
    path = media_path(ready_slide.features_path)
    path.write_bytes(path.read_bytes() + b"\0")

    assert case_inputs_from_snapshot(snapshot).slides == ()


def _analyse(case: Case, client: Client) -> Prediction:
    client.post(reverse("analysis-request", args=[case.pk]))
    run = AnalysisRun.objects.get(case=case)
    assert run.job is not None
    job_run(run.job.pk)
    run.job.refresh_from_db()
    assert run.job.status == Job.Status.SUCCEEDED, run.job.error
    return Prediction.objects.get(case=case)


def test_a_breast_analysis_with_a_slide_lists_it_as_not_read_and_the_viewer_says_why(
    ready_slide: Slide, cast: Cast, oncologist_client: Client, pathologist_client: Client
) -> None:
    prediction = _analyse(cast.case, oncologist_client)  # routed to the portrait model
    assert prediction.run.inputs_snapshot["slides"][0]["slide_id"] == str(ready_slide.pk)
    view = portrait_inputs_view(prediction, prediction.run.inputs_snapshot)
    assert "pathology slides (this model has no image input)" in view["record_only"]
    html = pathologist_client.get(reverse("pathology-viewer", args=[ready_slide.pk])).content
    assert b"reads clinical facts only" in html
    assert b"source=attention" not in html


def test_a_pan_cancer_analysis_with_a_slide_records_it_as_not_used_and_the_viewer_says_why(
    ready_slide: Slide, cast: Cast, oncologist_client: Client, pathologist_client: Client
) -> None:
    # A glioma: no portrait model, so the pan-cancer model with its untrained slide branch runs.
    Case.objects.filter(pk=cast.case.pk).update(oncotree_code="ODG")
    prediction = _analyse(cast.case, oncologist_client)
    assert prediction.model_name == "oncoboard-tcga-pancancer"
    assert "slide" in prediction.untrained_modalities
    assert any("slide" in reason for reason in prediction.inputs_ignored)

    html = pathologist_client.get(reverse("pathology-viewer", args=[ready_slide.pk])).content
    assert b"never trained on outcomes" in html
    assert b"source=attention" not in html


def test_the_report_prints_the_thumbnail_with_research_use_only(
    ready_slide: Slide, cast: Cast
) -> None:
    section = next(s for s in optional_sections(cast.case, deidentified=True) if "Slide" in s.title)
    assert section.available
    assert section.image_png == media_path(ready_slide.thumbnail_path).read_bytes()
    assert any("Research use only" in line for line in section.lines)


def test_without_a_ready_slide_the_report_says_not_available(cast: Cast) -> None:
    SlideFactory.create(case=cast.case, status=Slide.Status.FAILED)
    section = next(
        s for s in optional_sections(cast.case, deidentified=False) if "Slide" in s.title
    )
    assert not section.available
    assert "Not available" in section.unavailable
