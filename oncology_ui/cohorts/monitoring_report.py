"""The monitoring page's data: every registered model's alerts, and one model in detail."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Q
from reportlab.graphics.shapes import Drawing

from inference.survival.greenwood import kaplan_meier_band
from oncology_ui.cohorts.charts import Marker, StepCurve, survival_figure
from oncology_ui.cohorts.drift import InputDrift, ShadowComparison, input_drift, shadow_comparison
from oncology_ui.cohorts.monitoring import (
    Alert,
    GroupPerformance,
    HorizonCheck,
    Scored,
    latest_per_case,
    model_alerts,
    model_predictions,
    subgroup_performance,
)
from oncology_ui.modelregistry.models import RegisteredModel


@dataclass(frozen=True)
class ModelMonitoring:
    model: RegisteredModel
    groups: list[GroupPerformance]
    drift: InputDrift
    shadow: ShadowComparison | None
    figure: Drawing | None


def monitored_models() -> list[RegisteredModel]:
    """Registry rows that made at least one prediction, served or in shadow."""
    return list(
        RegisteredModel.objects.filter(
            Q(predictions__isnull=False) | Q(shadow_predictions__isnull=False)
        )
        .distinct()
        .order_by("name", "version")
    )


def all_alerts(models: list[RegisteredModel]) -> list[Alert]:
    """Calibration outside the band, for every model, subgroup and horizon shown."""
    alerts: list[Alert] = []
    for model in models:
        alerts += model_alerts(model, subgroup_performance(model_predictions(model)))
    return alerts


def _markers(checks: tuple[HorizonCheck, ...], *, hollow: bool) -> list[Marker]:
    return [
        Marker(12.0 * c.years, c.predicted, hollow=hollow)
        for c in checks
        if c.predicted is not None
    ]


def calibration_figure(
    model: RegisteredModel,
    records: list[Scored],
    overall: GroupPerformance,
    shadow: ShadowComparison | None,
) -> Drawing | None:
    """Observed Kaplan-Meier from time zero with its band, and the mean predicted survival at
    1/3/5 years as squares (a shadow model: served filled, shadow hollow, on the same cases)."""
    if not overall.shown or not overall.horizons:
        return None
    followed = [r for r in latest_per_case(records) if r.months is not None]
    if not followed:
        return None
    band = kaplan_meier_band(
        np.array([r.months for r in followed], dtype=np.float64),
        np.array([r.died for r in followed], dtype=np.float64),
    )
    observed = StepCurve(
        label=f"Observed (Kaplan–Meier, 95% band), {len(followed)} cases",
        times=band.times.tolist(),
        survival=band.survival.tolist(),
        lower=band.lower.tolist(),
        upper=band.upper.tolist(),
    )
    if shadow is not None and shadow.shown:
        markers = [
            _markers(shadow.served_checks, hollow=False),
            _markers(shadow.shadow_checks, hollow=True),
        ]
    else:
        markers = [_markers(overall.horizons, hollow=model.state == RegisteredModel.State.SHADOW)]
    return survival_figure(
        [observed], markers=markers, axis_label="Years from the curve's time zero"
    )


def model_monitoring(model: RegisteredModel) -> ModelMonitoring:
    records = model_predictions(model)
    groups = subgroup_performance(records)
    shadow = (
        shadow_comparison(model, records, float(settings.MONITORING_CALIBRATION_BAND))
        if model.shadow_predictions.exists()
        else None
    )
    return ModelMonitoring(
        model=model,
        groups=groups,
        drift=input_drift(model, records),
        shadow=shadow,
        figure=calibration_figure(model, records, groups[0], shadow),
    )
