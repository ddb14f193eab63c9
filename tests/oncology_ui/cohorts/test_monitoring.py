"""Model monitoring on a small set of real rows: counts, abstention, calibration, C, drift,
shadow agreement, alerts, and who may look."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oncology_ui.analysis.models import Prediction
from oncology_ui.cohorts.drift import input_drift, shadow_comparison
from oncology_ui.cohorts.monitoring import (
    GroupPerformance,
    model_predictions,
    subgroup_performance,
)
from oncology_ui.cohorts.monitoring_report import all_alerts, monitored_models
from oncology_ui.core.models import AccessLog
from oncology_ui.modelregistry.models import RegisteredModel, ShadowPrediction
from oncology_ui.patients.models import Case
from tests.oncology_ui.boards.helpers import prediction_create, survival_rows
from tests.oncology_ui.cohorts.conftest import followed_case
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db

# Risk per case of the ER-positive fixture (died 400 d, died 1500 d, followed 700, 1200, 2000,
# 2200 d): the 1500-day death ranks below the one followed 2000 days, one discordant pair of 7.
RISKS = (0.9, 0.2, 0.5, 0.4, 0.3, 0.1)


def _model(name: str = "oncofusion", state: str = "active", **fields: object) -> RegisteredModel:
    return RegisteredModel.objects.create(
        name=name,
        version="1.4.0",
        family="pancancer",
        checkpoint=f"{name}.pt",
        sha256="ab" * 32,
        state=state,
        **fields,
    )


@pytest.fixture
def served(cast: Cast, breast_cohort: dict[str, list[Case]]) -> RegisteredModel:
    """Six predictions of 95 % one-year survival with risks ``RISKS``, one abstention, and two
    lung cases predicted (a subgroup too small to show)."""
    model = _model()
    for case, risk in zip(breast_cohort["positive"], RISKS, strict=True):
        prediction_create(
            case,
            one_year=0.95,
            risk_score=risk,
            registered_model=model,
            time_zero="diagnosis",
            inputs_missing=["labs", "slide"],
        )
    prediction_create(
        breast_cohort["negative"][0],
        status=Prediction.Status.ABSTAINED,
        survival_at=[],
        risk_score=0.0,
        registered_model=model,
        time_zero="diagnosis",
        inputs_missing=["labs"],
    )
    for _ in range(2):
        lung = followed_case(cast, followed=800, team="lung")
        Case.objects.filter(pk=lung.pk).update(oncotree_code="LUAD")
        prediction_create(
            lung,
            one_year=0.95,
            risk_score=0.5,
            registered_model=model,
            time_zero="diagnosis",
            inputs_missing=[],
        )
    return model


def _group(groups: list[GroupPerformance], dimension: str, value: str) -> GroupPerformance:
    return next(g for g in groups if (g.dimension, g.value) == (dimension, value))


def test_counts_abstention_calibration_and_c_index_of_a_subgroup(served: RegisteredModel) -> None:
    groups = subgroup_performance(model_predictions(served))
    overall = groups[0]
    assert (overall.predictions, overall.patients) == (9, 9)
    assert overall.abstention_rate == pytest.approx(1 / 9)
    idc = _group(groups, "cancer type", "IDC")
    assert (idc.predictions, idc.patients, idc.abstention_rate) == (7, 7, pytest.approx(1 / 7))
    one, three, five = idc.horizons
    # Predicted 0.95 / 0.665 / 0.475 (survival_rows); observed by hand from the six with a
    # curve: no death before 400 days, S(3 y) = 5/6, S(5 y) = 5/6 * 2/3 with two followed.
    assert (one.predicted, one.observed) == (pytest.approx(0.95), pytest.approx(1.0))
    assert (three.predicted, three.observed) == (pytest.approx(0.665), pytest.approx(5 / 6))
    assert (five.predicted, five.observed, five.at_risk) == (
        pytest.approx(0.475),
        pytest.approx(5 / 9),
        2,
    )
    assert five.lower is not None and five.observed is not None and five.upper is not None
    assert five.lower < five.observed < five.upper
    assert idc.c_index == pytest.approx(6 / 7)
    assert not _group(groups, "cancer type", "LUAD").shown
    assert _group(groups, "cancer type", "LUAD").suppressed == "fewer than 5 patients; not shown"
    assert _group(groups, "care team", "Breast MDT").patients == 7


def test_outcomes_of_fewer_patients_than_the_minimum_are_withheld_too(
    cast: Cast, breast_cohort: dict[str, list[Case]]
) -> None:
    # Five patients predicted, but only two curves count from a date the record holds.
    model = _model()
    for index, case in enumerate(breast_cohort["positive"][:5]):
        zero = "diagnosis" if index < 2 else "study_entry"
        prediction_create(case, risk_score=0.5, registered_model=model, time_zero=zero)
    overall = subgroup_performance(model_predictions(model))[0]
    assert overall.shown and overall.patients == 5 and overall.compared == 2
    assert overall.horizons == () and overall.c_index is None
    page = signed_in_client(cast.admin).get(reverse("cohorts-monitoring")).content.decode()
    assert "Outcomes: fewer than 5 patients; not shown." in page
    assert "data:image/svg+xml" not in page  # no observed curve of two patients


def test_an_alert_fires_when_calibration_leaves_the_band(
    served: RegisteredModel, settings: object
) -> None:
    settings.MONITORING_CALIBRATION_BAND = 0.10  # type: ignore[attr-defined]
    alerts = all_alerts(monitored_models())
    idc = [a for a in alerts if a.group.value == "IDC"]
    # |5/6 - 0.665| = 0.17 at three years leaves a 10-point band; 1 and 5 years stay inside.
    assert [(a.model, a.check.years) for a in idc] == [(served, 3)]
    # All eight with a curve (the lung cases followed 800 days): observed 7/8 at three years
    # against 0.665, and 7/8 * 2/3 at five against 0.475: both leave the band.
    overall = [a.check.years for a in alerts if a.group.dimension == "all"]
    assert overall == [3, 5]
    settings.MONITORING_CALIBRATION_BAND = 0.25  # type: ignore[attr-defined]
    assert all_alerts(monitored_models()) == []


def test_input_drift_against_the_first_month_or_the_training_distribution(
    served: RegisteredModel,
) -> None:
    records = model_predictions(served)
    drift = input_drift(served, records)
    month = timezone.localdate().strftime("%Y-%m")
    assert drift.reference == f"the model's first month of predictions shown here ({month})"
    assert drift.inputs == ("labs", "slide")
    (this_month,) = drift.months
    assert dict(this_month.missing) == {"labs": pytest.approx(7 / 9), "slide": pytest.approx(6 / 9)}
    # The factory's patients share one birth date: no spread in the reference, no age shift.
    assert this_month.age_shift is None and this_month.stage_shift == 0.0
    served.validation_summary = {
        "input_distribution": {"age": {"mean": 50.0, "sd": 10.0}, "stage": {"Stage II": 1.0}}
    }
    drift = input_drift(served, records)
    assert drift.reference == "the training distribution in the model's registry entry"
    ages = [r.age for r in records]
    assert drift.months[0].age_shift == pytest.approx((sum(ages) / len(ages) - 50.0) / 10.0)
    # Six stage II and one stage IIIA breast cases, two lung cases staged IIB: 1/9 off.
    assert drift.months[0].stage_shift == pytest.approx(1 / 9)


def test_a_shadow_model_is_compared_with_the_served_one_on_the_same_cases(
    served: RegisteredModel,
) -> None:
    shadow = _model("oncofusion-recalibrated", state="shadow")
    served_rows = Prediction.objects.filter(registered_model=served, status="ok")
    for row in served_rows:
        ShadowPrediction.objects.create(
            registered_model=shadow,
            run=row.run,
            case=row.case,
            status="ok",
            survival_at=survival_rows(0.85),
            risk_score=row.risk_score * 2,
            inputs_missing=["labs"],
        )
    comparison = shadow_comparison(shadow, model_predictions(shadow), band=0.1)
    assert comparison.pairs == 8
    assert comparison.risk_agreement == pytest.approx(1.0)  # same order of risks
    assert dict(comparison.mean_abs_difference)[1] == pytest.approx(0.10)
    assert comparison.served_checks[0].predicted == pytest.approx(0.95)
    assert comparison.shadow_checks[0].predicted == pytest.approx(0.85)
    assert comparison.served_models == ("oncofusion 1.4.0",)
    page = signed_in_client_admin(served).get(reverse("cohorts-monitoring"), {"model": shadow.pk})
    assert "8 cases scored by both" in page.content.decode()


def signed_in_client_admin(model: RegisteredModel) -> Client:
    from django.contrib.auth.models import User

    return signed_in_client(User.objects.get(username="admin"))


def test_the_page_is_for_administrators_audited_and_says_what_it_withholds(
    cast: Cast, served: RegisteredModel, settings: object
) -> None:
    settings.MONITORING_CALIBRATION_BAND = 0.10  # type: ignore[attr-defined]
    assert signed_in_client(cast.oncologist).get(reverse("cohorts-monitoring")).status_code == 403
    client = signed_in_client(cast.admin)
    before = AccessLog.objects.count()
    response = client.get(reverse("cohorts-monitoring"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cancer type: LUAD" in page and "Fewer than 5 patients; not shown." in page
    assert "3-year survival observed 83%" in page
    assert "data:image/svg+xml;base64," in page
    (row,) = AccessLog.objects.order_by("id")[before:]
    assert (row.action, row.category, row.object_ref) == (
        "view",
        "monitoring",
        f"model:{served.pk}",
    )
    partial = client.get(
        reverse("cohorts-monitoring"), {"model": served.pk}, HTTP_HX_REQUEST="true"
    )
    assert partial.content.decode().lstrip().startswith('<div id="monitoring-model">')
    unknown = client.get(reverse("cohorts-monitoring"), {"model": "99999"})
    assert unknown.status_code == 200 and "not in the registry" in unknown.content.decode()
