"""The prognosis section reads the stored prediction from today: conditional, named, current."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oncology_ui.analysis.adapters import case_snapshot
from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Patient
from oncology_ui.reports import services
from tests.oncology_ui.boards.helpers import (
    TCGA_HAZARD,
    diagnosed_years_ago,
    tcga_prediction_create,
)
from tests.oncology_ui.clinical.conftest import lab_csv, run_import
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.therapies.html import find, find_all, text, tree

pytestmark = pytest.mark.django_db


def _section(client: Client, cast: Cast) -> str:
    url = reverse("patients-case-section", args=[cast.case.pk, "prognosis"])
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def _figures(content: str) -> dict[str, str]:
    """The section's summary figures as printed: each ``<dt>`` with its ``<dd>``."""
    root = tree(content)
    return {
        text(term): text(value)
        for term, value in zip(find_all(root, "dt"), find_all(root, "dd"), strict=True)
    }


def _why(content: str) -> dict[str, str]:
    """The "why" list: each factor's name (in bold) with what the line says about it."""
    factors = {}
    for item in find_all(find(tree(content), "ol", "why"), "li"):
        label = text(find(item, "strong"))
        factors[label] = text(item).removeprefix(label).lstrip(" :")
    return factors


def test_the_curve_starts_today_for_a_patient_diagnosed_eight_years_ago(
    cast: Cast, oncologist_client: Client
) -> None:
    diagnosed = diagnosed_years_ago(cast.case, 7.9)
    # Stored 1-year survival from diagnosis: exp(-0.12) = 89%. From today the exponential curve
    # is memoryless, so 1 year from today is also 89%; but the stored 3- and 5-year figures
    # (from diagnosis) must not be shown, as the model's 10-year curve ends ~2 years from today.
    tcga_prediction_create(
        cast.case, survival_at=[{"years": 5, "survival": 0.55, "lower": 0.4, "upper": 0.6}]
    )
    content = _section(oncologist_client, cast)
    assert f"given survival since diagnosis on {diagnosed.isoformat()}, 7.9 years ago" in content
    assert "Years from today" in content
    figures = _figures(content)
    assert figures["1 year from today"].startswith("89%")
    assert figures["3 years from today"] == "beyond the model's horizon"
    assert "55%" not in content  # the stored 5-year-from-diagnosis figure
    assert "ends 25 months from today" in content


def test_the_section_conditions_the_curve_and_each_band_edge(
    cast: Cast, oncologist_client: Client
) -> None:
    diagnosed_years_ago(cast.case, 3.0)
    tcga_prediction_create(cast.case)
    response = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "prognosis"])
    )
    from_today = response.context["from_today"]
    assert from_today.conditioned and from_today.elapsed_months == pytest.approx(36.0, abs=0.1)
    curve = from_today.curve
    assert curve["times_months"][0] == 0.0
    assert curve["times_months"][-1] == pytest.approx(120.0 - from_today.elapsed_months)
    one_year = from_today.landmarks[0]
    assert one_year["survival"] == pytest.approx(math.exp(-12 * TCGA_HAZARD), rel=1e-6)
    assert one_year["lower"] == pytest.approx(math.exp(-24 * TCGA_HAZARD), rel=1e-6)
    assert one_year["upper"] == pytest.approx(math.exp(-6 * TCGA_HAZARD), rel=1e-6)


def test_past_the_models_horizon_it_says_the_curve_cannot_be_extended(
    cast: Cast, oncologist_client: Client
) -> None:
    diagnosed_years_ago(cast.case, 11.0)
    tcga_prediction_create(cast.case)
    content = _section(oncologist_client, cast)
    assert "No survival estimate from today" in content
    assert "cannot be extended from today" in content
    assert find_all(tree(content), "figure", "survival-chart") == []
    assert "Median survival" not in content


def test_a_model_counting_from_another_time_zero_says_so(
    cast: Cast, oncologist_client: Client
) -> None:
    diagnosed_years_ago(cast.case, 2.0)
    tcga_prediction_create(cast.case, model_name="oncoboard-support")
    content = _section(oncologist_client, cast)
    assert "study entry" in content and "not conditioned on the time already survived" in content
    assert "Years from the model&#x27;s time zero" in content


def test_the_why_list_names_factors_with_units_and_leaves_out_zero_effects(
    cast: Cast, oncologist_client: Client
) -> None:
    tcga_prediction_create(
        cast.case,
        explanation={
            "reference_years": 3,
            "feature_attributions": [
                {"modality": "clinical", "feature": "age", "value": 53.0, "attribution": -0.021},
                {"modality": "clinical", "feature": "is_female", "value": 1.0, "attribution": 4e-5},
                {"modality": "mutations", "feature": "TP53", "value": 1.0, "attribution": -0.012},
                {"modality": "labs", "feature": "sodium", "value": 131.0, "attribution": 0.006},
            ],
            "modality_shapley": [
                {"modality": "clinical", "shapley": -0.03},
                {"modality": "labs", "shapley": 0.00002},
            ],
        },
    )
    content = _section(oncologist_client, cast)
    why = _why(content)
    assert why["Age 53 years"].startswith("lowers the predicted 3-year survival by 2.1 points")
    assert "TP53 mutated" in why
    assert why["Sodium 131 mmol/L"].startswith("raises the predicted 3-year survival by 0.6")
    assert "is_female" not in content and "Sex: female" not in content  # rounds to 0.0 points
    assert "in percentage points" in content
    bar_labels = [text(label) for label in find_all(tree(content), "span", "bar-label")]
    assert "Labs" not in bar_labels  # Shapley rounds to 0.0 too


def test_inputs_the_model_cannot_use_are_listed_plainly(
    cast: Cast, oncologist_client: Client
) -> None:
    prediction = tcga_prediction_create(
        cast.case, inputs_ignored=["clinical:er_positive", "clinical:stage", "clinical:ecog"]
    )
    prediction.run.inputs_snapshot = {
        "case_id": str(cast.case.pk),
        "clinical": {"values": {"age": 53.0, "er_positive": 1.0, "stage": 2.0, "ecog": 1.0}},
        "labs": {"values": {"sodium": 140.0, "creatinine": 0.9}},
    }
    prediction.run.save()
    content = _section(oncologist_client, cast)
    assert (
        "Known but not used by this model:</strong> ER positive; Stage II; "
        "ECOG performance status 1; 2 laboratory values (this model has no laboratory values "
        "input)." in content
    )
    assert "clinical:er_positive" not in content


def _current_prediction(cast: Cast) -> Prediction:
    prediction = tcga_prediction_create(cast.case)
    AnalysisRun.objects.filter(pk=prediction.run_id).update(
        inputs_snapshot=case_snapshot(cast.case)
    )
    return Prediction.objects.select_related("run").get(pk=prediction.pk)


def test_a_prediction_made_before_new_labs_were_imported_is_stale_with_a_rerun(
    cast: Cast, oncologist_client: Client
) -> None:
    _current_prediction(cast)
    assert "Stale prediction" not in _section(oncologist_client, cast)
    record = run_import(cast.case, lab_csv("2026-01-05,Sodium,,131,mmol/L,,"))
    assert record.status == "imported", record.problems
    content = _section(oncologist_client, cast)
    assert "Stale prediction" in content and "before newer laboratory results" in content
    rerun = reverse("analysis-request", args=[cast.case.pk])
    stale_banner = content[content.index('id="prognosis-stale"') :]
    assert f'<form method="post" action="{rerun}"' in stale_banner.split("</div>")[0]
    assert f'hx-post="{rerun}"' in stale_banner.split("</div>")[0]


def test_the_stale_rerun_works_as_a_plain_form_post_and_via_htmx(
    cast: Cast, oncologist_client: Client
) -> None:
    _current_prediction(cast)
    run_import(cast.case, lab_csv("2026-01-05,Sodium,,131,mmol/L,,"))
    rerun = reverse("analysis-request", args=[cast.case.pk])
    response = oncologist_client.post(rerun)
    assert response.status_code == 302
    assert response["Location"] == reverse("patients-case", args=[cast.case.pk])
    newest = AnalysisRun.objects.filter(case=cast.case).first()
    assert newest is not None and newest.inputs_snapshot["labs"]["values"]["sodium"] == 131.0
    htmx = oncologist_client.post(rerun, HTTP_HX_REQUEST="true")
    assert htmx.content.decode().lstrip().startswith('<section id="section-prognosis"')
    assert "A re-run is in progress" in htmx.content.decode()


def test_the_rerun_prediction_is_current_again(cast: Cast, oncologist_client: Client) -> None:
    _current_prediction(cast)
    run_import(cast.case, lab_csv("2026-01-05,Sodium,,131,mmol/L,,"))
    oncologist_client.post(reverse("analysis-request", args=[cast.case.pk]))
    newest = AnalysisRun.objects.filter(case=cast.case).select_related("job").first()
    assert newest is not None and newest.job is not None
    assert job_run(newest.job.pk) == Job.Status.SUCCEEDED  # the shipped model runs
    content = _section(oncologist_client, cast)
    assert "Stale prediction" not in content
    assert "given survival since diagnosis on" in content


def test_a_deceased_patients_curve_is_shown_from_diagnosis_for_the_record(
    cast: Cast, oncologist_client: Client
) -> None:
    diagnosed_years_ago(cast.case, 3.0)
    cast.patient.vital_status = Patient.VitalStatus.DECEASED
    cast.patient.date_of_death = timezone.localdate() - dt.timedelta(days=100)
    cast.patient.save()
    tcga_prediction_create(cast.case)
    content = _section(oncologist_client, cast)
    assert "The patient is recorded as deceased on" in content
    assert "shown from diagnosis on" in content and "from today" not in content


def test_a_stored_prediction_without_a_curve_says_so_instead_of_failing(
    cast: Cast, oncologist_client: Client
) -> None:
    tcga_prediction_create(cast.case, curve={})
    content = _section(oncologist_client, cast)
    assert "no usable survival curve" in content
    text = services.case_report_pdf(case=cast.case, deidentified=False)
    assert b"%PDF" in text[:8]
