"""Asking for an analysis, the job it runs, and the prognosis section."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.analysis.models import AnalysisRun
from oncology_ui.analysis.sections import _bar, survival_chart
from oncology_ui.core.models import Job
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def test_an_oncologist_starts_an_analysis_and_the_section_shows_its_job(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("analysis-request", args=[cast.case.pk])
    response = oncologist_client.post(url, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    run = AnalysisRun.objects.get(case=cast.case)
    assert run.job is not None and run.job.kind == "case_analysis"
    assert run.inputs_hash and run.inputs_snapshot["clinical"]["cancer_type"] == "IDC"
    assert content.lstrip().startswith('<section id="section-prognosis"')
    assert f'id="job-{run.job.pk}"' in content and 'hx-trigger="job-finished from:body"' in content


def test_a_trial_coordinator_cannot_start_an_analysis(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.coordinator)
    response = client.post(reverse("analysis-request", args=[cast.case.pk]))
    assert response.status_code == 404
    assert not AnalysisRun.objects.exists()


def test_another_teams_case_cannot_be_analysed(cast: Cast, oncologist_client: Client) -> None:
    response = oncologist_client.post(reverse("analysis-request", args=[cast.other_case.pk]))
    assert response.status_code == 404


def test_the_analysis_job_status_is_visible_only_to_the_cases_team(
    cast: Cast, oncologist_client: Client
) -> None:
    oncologist_client.post(reverse("analysis-request", args=[cast.case.pk]))
    job = Job.objects.get(kind="case_analysis")
    assert oncologist_client.get(reverse("core-job-status", args=[job.pk])).status_code == 200
    outsider = Client()
    outsider.force_login(cast.outsider)
    assert outsider.get(reverse("core-job-status", args=[job.pk])).status_code == 404


def test_the_chart_maps_survival_to_svg_coordinates() -> None:
    chart = survival_chart(
        {
            "times_months": [0.0, 60.0],
            "survival": [1.0, 0.5],
            "lower": [1.0, 0.4],
            "upper": [1.0, 0.6],
        }
    )
    assert chart["line"] == "36.0,36.0 524.0,120.0"
    assert chart["band"].split()[0] == "36.0,36.0"
    assert [year["label"] for year in chart["years"]] == ["0 y", "1 y", "2 y", "3 y", "4 y", "5 y"]


def test_bars_diverge_from_the_centre() -> None:
    assert _bar("Labs", -0.05, 0.1) == {"label": "Labs", "value": -0.05, "x": 50.0, "w": 50.0}
    assert _bar("Clinical", 0.1, 0.1)["x"] == 100
