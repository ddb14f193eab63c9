"""The recalibration job: real prostate cancer outcomes (SurvSet prostateSurvival) entered as site
patients; the job registers a candidate with its site report, and the recalibrated row predicts
through the registry's serving path."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from benchmarks.l1_site_recalibration import cohort_sample, enter_site_patients
from oncology_ui.analysis.adapters import case_snapshot
from oncology_ui.analysis.serving import registered_model_predict
from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.modelregistry.models import RegisteredModel
from oncology_ui.modelregistry.selectors import registered_models_serving
from oncology_ui.patients.models import Case
from oncology_ui.sitelearn.export import site_outcome_cases
from oncology_ui.sitelearn.services import recalibration_request
from tests.factories import UserFactory
from tests.oncology_ui.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def _quiet(percent: int, message: str) -> None:
    """Progress goes nowhere here."""


@pytest.fixture
def site(db: None) -> tuple[User, RegisteredModel]:
    admin = UserFactory.create(username="chair", role=roles.ADMINISTRATOR, is_staff=True)
    team = Team.objects.create(name="Urology MDT")
    enter_site_patients(cohort_sample(160), admin, team)
    return admin, registered_models_serving("PRAD")[0]


def _recalibrate(admin: User, active: RegisteredModel) -> RegisteredModel:
    job = recalibration_request(model=active, user=admin)
    assert job_run(job.pk) == "succeeded", job.error
    job.refresh_from_db()
    return RegisteredModel.objects.get(pk=job.result["candidate"])


@pytest.mark.slow
def test_the_job_creates_a_candidate_with_a_site_report(site: tuple[User, RegisteredModel]) -> None:
    admin, active = site
    candidate = _recalibrate(admin, active)
    assert candidate.state == RegisteredModel.State.CANDIDATE
    assert candidate.parent == active and candidate.sha256 == active.sha256
    assert candidate.recalibration is not None and candidate.recalibration["slope"] > 0
    report = candidate.site_report or {}
    split = report["split"]
    # Every case with follow-up (a man last seen on his diagnosis day has none) is in the split.
    assert split["older"] + split["newer"] + split["left_out"] == len(site_outcome_cases()) > 150
    newer = Case.objects.filter(diagnosis_date__gte=split["cut_date"]).count()
    assert newer == split["newer"]  # the cut is a date: every newer case is on or after it
    for label in ("active", "candidate"):
        block = report["models"][label]
        assert block["n"] == split["newer"]
        assert {"c_index", "citl", "slope", "interval_coverage", "at_months"} <= set(block)
        assert "age band" in block["subgroups"] and "care team" in block["subgroups"]
    # The portrait model predicts far worse survival than these men had: recalibration closes it.
    active_error = report["models"]["active"]["citl_abs_error"]
    assert active_error > 0.2
    assert report["models"]["candidate"]["citl_abs_error"] < 0.5 * active_error


@pytest.mark.slow
def test_a_recalibrated_row_predicts_through_the_registry(
    site: tuple[User, RegisteredModel],
) -> None:
    admin, active = site
    candidate = _recalibrate(admin, active)
    snapshot = case_snapshot(Case.objects.order_by("-diagnosis_date")[0])
    base = registered_model_predict(active, snapshot, _quiet)
    recalibrated = registered_model_predict(candidate, snapshot, _quiet)
    assert recalibrated.model.name == candidate.name
    assert recalibrated.model.weights_sha256 == base.model.weights_sha256
    assert recalibrated.validation is not None and "recalibration" in recalibrated.validation
    three = {r.years: r.survival for r in recalibrated.survival_at}[3]
    assert three is not None and three > ({r.years: r.survival for r in base.survival_at}[3] or 0)


def test_only_the_committee_recalibrates_only_an_active_model(
    site: tuple[User, RegisteredModel],
) -> None:
    admin, active = site
    oncologist = UserFactory.create(username="uro", role=roles.ONCOLOGIST)
    with pytest.raises(PermissionDenied):
        recalibration_request(model=active, user=oncologist)
    retired = RegisteredModel.objects.exclude(state=RegisteredModel.State.ACTIVE).first()
    assert retired is not None
    with pytest.raises(ValidationError, match="only an active model"):
        recalibration_request(model=retired, user=admin)


@pytest.mark.slow
def test_the_page_starts_a_recalibration_and_shows_the_report(
    site: tuple[User, RegisteredModel],
) -> None:
    admin, active = site
    client: Client = signed_in_client(admin)
    page = client.get("/site-learning/recalibration/")
    assert page.status_code == 200 and active.label in page.content.decode()
    started = client.post(f"/site-learning/recalibration/{active.pk}/start/")
    assert started.status_code == 302
    candidate = _recalibrate(admin, active)
    report = client.get(f"/site-learning/recalibration/{candidate.pk}/report/")
    text = report.content.decode()
    assert report.status_code == 200
    assert "Observed against predicted" in text and active.label in text
    oncologist = signed_in_client(UserFactory.create(username="uro2", role=roles.ONCOLOGIST))
    assert oncologist.get("/site-learning/recalibration/").status_code == 403
