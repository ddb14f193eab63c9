"""The prediction pipeline end to end: rows -> snapshot -> shipped model -> Prediction row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from inference.portrait import model as portrait_model
from inference.portrait import predictor as portrait_predictor
from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def _analyse(client: Client, cast: Cast) -> Job:
    client.post(reverse("analysis-request", args=[cast.case.pk]))
    run = AnalysisRun.objects.get(case=cast.case, prediction__isnull=True)
    assert run.job is not None
    job_run(run.job.pk)
    run.job.refresh_from_db()
    return run.job


@pytest.mark.slow
def test_a_case_is_analysed_from_its_rows_and_shown_with_its_basis(
    cast: Cast, oncologist_client: Client
) -> None:
    job = _analyse(oncologist_client, cast)
    assert job.status == Job.Status.SUCCEEDED, job.error
    prediction = Prediction.objects.get(case=cast.case)
    assert prediction.model_name == "oncoboard-portrait" and len(prediction.weights_sha256) == 64
    assert "clinical" in prediction.inputs_used
    assert "stage_group" in prediction.covariates_used  # the case's stage IIB reached the model
    survival = prediction.curve["survival"]
    assert survival[0] <= 1.0 and all(
        a >= b - 1e-9 for a, b in zip(survival, survival[1:], strict=False)
    )
    assert [row["years"] for row in prediction.survival_at] == [1, 3, 5]
    page = oncologist_client.get(reverse("patients-case-section", args=[cast.case.pk, "prognosis"]))
    content = page.content.decode()
    assert "Clinical facts used" in content and prediction.model_version in content
    assert page.context["from_today"].curve["survival"]  # the curve the chart draws
    assert "model card" in content
    card = oncologist_client.get(reverse("analysis-model-card", args=[prediction.model_name]))
    assert card.status_code == 200


@pytest.mark.slow
def test_a_rerun_makes_a_new_row_and_says_what_changed(
    cast: Cast, oncologist_client: Client
) -> None:
    _analyse(oncologist_client, cast)
    cast.case.stage_group = "IV"
    cast.case.save()
    _analyse(oncologist_client, cast)
    assert Prediction.objects.filter(case=cast.case).count() == 2
    content = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "prognosis"])
    ).content.decode()
    assert "What changed since the previous run" in content


@pytest.mark.slow
def test_the_same_inputs_give_the_same_prediction(cast: Cast, oncologist_client: Client) -> None:
    _analyse(oncologist_client, cast)
    _analyse(oncologist_client, cast)
    first, second = Prediction.objects.filter(case=cast.case).order_by("id")
    assert first.run.inputs_hash == second.run.inputs_hash
    assert first.curve == second.curve and first.explanation == second.explanation


def test_tampered_weights_make_the_analysis_fail_visibly_and_nothing_else(
    cast: Cast, oncologist_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The breast case routes to the portrait model: its checkpoint is the one tampered with.
    tampered = tmp_path / portrait_model.SHIPPED_PATH.name
    shutil.copy(portrait_model.SHIPPED_PATH, tampered)
    with tampered.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00tampered\x00")
    monkeypatch.setattr(portrait_predictor, "SHIPPED_PATH", tampered)
    monkeypatch.setattr(portrait_predictor, "_CACHE", {})
    job = _analyse(oncologist_client, cast)
    assert job.status == Job.Status.FAILED
    assert "prognosis model is unavailable" in job.error
    assert not Prediction.objects.exists()
    assert oncologist_client.get(reverse("patients-case", args=[cast.case.pk])).status_code == 200
