"""Routing reads the registry: the active row that serves the case's type predicts."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.analysis.services import analysis_request
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from oncology_ui.modelregistry.models import ModelStateChange
from oncology_ui.modelregistry.services import (
    registered_model_create_candidate,
    state_change_approve,
    state_change_rollback_request,
)
from oncology_ui.patients.models import Case
from tests.factories import PASSWORD, CaseFactory
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.modelregistry.helpers import committee, move, row

pytestmark = pytest.mark.django_db


def _analyse(case: Case, cast: Cast) -> AnalysisRun:
    run = analysis_request(case=case, user=cast.oncologist)
    assert run.job is not None
    job_run(run.job.pk)
    run.refresh_from_db()
    return run


def test_the_shipped_registry_serves_a_breast_case_with_the_portrait_and_says_so(
    cast: Cast, oncologist_client: Client
) -> None:
    run = _analyse(cast.case, cast)
    prediction = Prediction.objects.get(run=run)
    assert prediction.registered_model == row("oncoboard-portrait")
    page = oncologist_client.get(reverse("patients-case-section", args=[cast.case.pk, "prognosis"]))
    portrait = row("oncoboard-portrait")
    assert f"Model registry: {portrait.name} {portrait.version}" in page.content.decode()


def test_activating_another_model_routes_the_next_analysis_to_it_and_rollback_back(
    cast: Cast,
) -> None:
    change = move(row("oncoboard-metabric"), "active", reason="breast model for this site")
    assert row("oncoboard-portrait").state == "retired"  # it listed the same breast codes
    breast = Prediction.objects.get(run=_analyse(cast.case, cast))
    assert breast.registered_model == row("oncoboard-metabric")
    assert breast.model_name == "oncoboard-metabric"
    assert "portrait_not_used" in (breast.validation or {})
    # Lung: no active portrait row is left, and the fallback says so in words.
    lung = Prediction.objects.get(run=_analyse(cast.other_case, cast))
    assert lung.registered_model == row("oncoboard-tcga-pancancer")
    reason = (lung.validation or {})["portrait_not_used"]
    assert "no portrait model is active in the model registry" in reason
    assert "Shown instead: the pan-cancer model" in reason
    chair, second = committee()
    rollback = state_change_rollback_request(change=change, user=chair, reason="undo")
    state_change_approve(change_id=rollback.pk, user=second, password=PASSWORD)
    again = Prediction.objects.get(run=_analyse(cast.case, cast))
    assert again.registered_model == row("oncoboard-portrait")
    assert again.model_name == "oncoboard-portrait"


def test_no_active_model_for_a_type_fails_the_analysis_with_a_reason(cast: Cast) -> None:
    move(row("oncoboard-tcga-pancancer"), "retired", reason="withdrawn")
    glioma = CaseFactory.create(
        patient=cast.patient,
        oncotree_code="ODG",
        primary_diagnosis="Oligodendroglioma",
        icd10_code="C71.1",
    )
    run = _analyse(glioma, cast)
    assert run.job is not None and run.job.status == Job.Status.FAILED
    assert "No active model in the model registry serves OncoTree ODG" in run.job.error
    assert not Prediction.objects.filter(run=run).exists()
    # The breast case still has its portrait model.
    assert Prediction.objects.get(run=_analyse(cast.case, cast)).model_name == "oncoboard-portrait"


def test_a_recalibrated_row_registers_but_is_not_activated_while_its_parameters_cannot_apply(
    cast: Cast,
) -> None:
    portrait = row("oncoboard-portrait")
    chair, _ = committee()
    recalibrated = registered_model_create_candidate(
        name="site-portrait-recalibrated",
        version="1",
        family="recalibrated",
        checkpoint=portrait.checkpoint,
        sha256=portrait.sha256,
        created_by=chair,
        parent=portrait,
        recalibration={"method": "not-a-method"},
        cancer_types=["IDC"],
    )
    assert recalibrated.state == "candidate" and recalibrated.kind == "portrait"
    with pytest.raises(ValidationError, match="recalibration"):
        move(recalibrated, "active")
    assert ModelStateChange.objects.get(model=recalibrated).status == "pending"
    assert row("oncoboard-portrait").state == "active"


def test_a_candidate_must_name_a_weights_file_that_matches_inside_the_weights_folder(
    cast: Cast,
) -> None:
    portrait = row("oncoboard-portrait")

    def create(checkpoint: str, sha256: str) -> None:
        registered_model_create_candidate(
            name="site-portrait",
            version="1",
            family="portrait",
            checkpoint=checkpoint,
            sha256=sha256,
            created_by=cast.admin,
        )

    with pytest.raises(ValidationError, match="outside inference/weights"):
        create("../../manage.py", portrait.sha256)
    with pytest.raises(ValidationError, match="does not match"):
        create(portrait.checkpoint, "2" * 64)
    with pytest.raises(ValidationError, match="64 hexadecimal"):
        create(portrait.checkpoint, "xyz")
