"""How each registered model performs on our patients, overall and by subgroup.

Every prediction a registry row made is read: the clinician-facing ``Prediction`` rows of an
active (or formerly active) model and the ``ShadowPrediction`` rows of a model in shadow. Counts
and abstention use every prediction; calibration and discrimination use each case's latest
prediction that gave a curve, against observed survival from the curve's time zero derived as the
board outcomes page derives it (:func:`oncology_ui.boards.selectors.observed_follow_up`).

Patients enter follow-up at time zero, not at the prediction: a patient predicted two years after
diagnosis has already survived two years, so the observed curve leans optimistic (delayed entry is
not adjusted for); the page says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from inference.survival.greenwood import kaplan_meier_band, number_at_risk
from inference.survival.metrics import harrell_c
from inference.weights import time_zero_of
from oncology_ui.analysis.models import Prediction
from oncology_ui.analysis.portrait_inputs import stage_group_number
from oncology_ui.analysis.selectors import DAYS_PER_MONTH, time_zero_date
from oncology_ui.boards.selectors import observed_follow_up
from oncology_ui.cohorts.selectors import (
    LANDMARK_YEARS,
    Withheld,
    min_group_size,
)
from oncology_ui.modelregistry.models import RegisteredModel, ShadowPrediction
from oncology_ui.patients.models import Case

AGE_BANDS: tuple[tuple[int, str], ...] = ((50, "under 50"), (65, "50–64"), (75, "65–74"))
STAGE_NAMES = {0: "Stage 0", 1: "Stage I", 2: "Stage II", 3: "Stage III", 4: "Stage IV"}


@dataclass(frozen=True)
class Scored:
    """One prediction of a registered model, as monitoring reads it.

    Attributes:
        survival_at: predicted S at 1/3/5 years from the curve's time zero (years -> S).
        months / died: observed follow-up from the case's time zero; ``None`` when the record
            holds no date for it.
    """

    case: Case
    run_id: int
    made_on: date
    status: str
    survival_at: dict[int, float]
    risk: float | None
    inputs_missing: tuple[str, ...]
    time_zero: str | None
    months: float | None
    died: bool

    @property
    def gave_curve(self) -> bool:
        return self.status == Prediction.Status.OK and bool(self.survival_at)

    @property
    def age(self) -> int:
        return self.case.patient.age_on(self.made_on)


def _landmarks(rows: Any) -> dict[int, float]:
    return {
        int(row["years"]): float(row["survival"])
        for row in rows or []
        if row.get("years") in LANDMARK_YEARS and row.get("survival") is not None
    }


def _scored(
    case: Case,
    run_id: int,
    made: Any,
    status: str,
    rows: Any,
    risk: float | None,
    missing: Any,
    time_zero: str | None,
) -> Scored:
    zero = time_zero_date(case, time_zero)
    months, died = None, False
    if zero is not None:
        days, died = observed_follow_up(case.patient, zero)
        months = days / DAYS_PER_MONTH
    return Scored(
        case=case,
        run_id=run_id,
        made_on=made.date(),
        status=status,
        survival_at=_landmarks(rows),
        risk=risk,
        inputs_missing=tuple(str(m) for m in missing or ()),
        time_zero=time_zero,
        months=months,
        died=died,
    )


def model_predictions(model: RegisteredModel) -> list[Scored]:
    """Every prediction the registry row made, served or in shadow, oldest first."""
    served: QuerySet[Prediction] = Prediction.objects.filter(registered_model=model)
    shadow = ShadowPrediction.objects.filter(registered_model=model)
    fallback_zero = time_zero_of(model.name)
    scored = served_predictions(served, fallback_zero)
    for s in shadow.select_related("case__patient", "run__prediction").prefetch_related(
        "case__patient__teams"
    ):
        served_row = getattr(s.run, "prediction", None)
        zero = (served_row.time_zero if served_row is not None else "") or fallback_zero
        scored.append(
            _scored(
                s.case,
                s.run_id,
                s.created_at,
                s.status,
                s.survival_at,
                s.risk_score,
                s.inputs_missing,
                zero,
            )
        )
    return sorted(scored, key=lambda r: (r.made_on, r.run_id))


def served_predictions(rows: QuerySet[Prediction], fallback_zero: str | None) -> list[Scored]:
    """Clinician-facing predictions as monitoring reads them."""
    return [
        _scored(
            p.case,
            p.run_id,
            p.created_at,
            p.status,
            p.survival_at,
            p.risk_score,
            # Modalities the model lacked, and the clinical fields a portrait model lacked.
            [*(p.inputs_missing or ()), *(p.covariates_missing or ())],
            p.time_zero or fallback_zero,
        )
        for p in rows.select_related("case__patient").prefetch_related("case__patient__teams")
    ]


def latest_per_case(records: Iterable[Scored]) -> list[Scored]:
    """Each case's latest prediction that gave a curve (re-runs do not count a case twice)."""
    latest: dict[int, Scored] = {}
    for record in records:
        if record.gave_curve:
            latest[record.case.pk] = record
    return list(latest.values())


# --- subgroups --------------------------------------------------------------------------------


def _age_band(record: Scored) -> list[str]:
    age = record.age
    return [next((label for limit, label in AGE_BANDS if age < limit), "75 and over")]


SUBGROUPS: tuple[tuple[str, Callable[[Scored], list[str]]], ...] = (
    ("cancer type", lambda r: [r.case.oncotree_code or "not recorded"]),
    (
        "stage group",
        lambda r: [STAGE_NAMES.get(stage_group_number(r.case.stage_group) or -1, "unstaged")],
    ),
    ("age band", _age_band),
    ("sex", lambda r: [r.case.patient.get_sex_display()]),
    ("care team", lambda r: [t.name for t in r.case.patient.teams.all()] or ["no team"]),
)


@dataclass(frozen=True)
class HorizonCheck:
    """Mean predicted against Kaplan-Meier observed survival at one horizon."""

    years: int
    predicted: float | None
    observed: float | None
    lower: float | None
    upper: float | None
    at_risk: int
    outside_band: bool

    @property
    def difference(self) -> float | None:
        if self.predicted is None or self.observed is None:
            return None
        return self.observed - self.predicted


def horizon_checks(records: list[Scored], band: float) -> tuple[HorizonCheck, ...]:
    """Calibration-in-the-large at 1/3/5 years on the cases with a time zero in the record.

    Observed is read only while someone is still followed at the horizon; a difference larger
    than ``band`` (both directions) marks the check as outside the band. Fewer patients with
    outcomes than the minimum group size give no checks at all (the page says so).
    """
    followed = [r for r in records if r.months is not None]
    checks = []
    if len({r.case.patient_id for r in followed}) < min_group_size():
        return ()
    times = np.array([r.months for r in followed], dtype=np.float64)
    events = np.array([r.died for r in followed], dtype=np.float64)
    curve = kaplan_meier_band(times, events)
    for years in LANDMARK_YEARS:
        predicted = [r.survival_at[years] for r in followed if years in r.survival_at]
        at_risk = int(number_at_risk(times, np.array([12.0 * years]))[0])
        mean = float(np.mean(predicted)) if predicted else None
        if at_risk == 0:
            checks.append(HorizonCheck(years, mean, None, None, None, 0, False))
            continue
        observed, lower, upper = curve.at(12.0 * years)
        outside = mean is not None and abs(observed - mean) > band
        checks.append(HorizonCheck(years, mean, observed, lower, upper, at_risk, outside))
    return tuple(checks)


def concordance(records: list[Scored]) -> float | None:
    """Harrell's C of the risk scores where outcomes allow (some comparable pair), else None."""
    usable = [r for r in records if r.months is not None and r.risk is not None]
    patients = len({r.case.patient_id for r in usable})
    if patients < min_group_size() or not any(r.died for r in usable):
        return None
    value = harrell_c(
        np.array([r.months for r in usable], dtype=np.float64),
        np.array([r.died for r in usable], dtype=np.float64),
        np.array([r.risk for r in usable], dtype=np.float64),
    )
    return None if np.isnan(value) else value


@dataclass(frozen=True)
class GroupPerformance(Withheld):
    """One model on one subgroup; ``shown`` False withholds every number."""

    dimension: str
    value: str
    shown: bool
    predictions: int | None = None
    patients: int | None = None
    abstention_rate: float | None = None
    failed: int | None = None
    horizons: tuple[HorizonCheck, ...] = ()
    c_index: float | None = None
    without_time_zero: int | None = None
    compared: int | None = None

    @property
    def alerts(self) -> list[HorizonCheck]:
        return [check for check in self.horizons if check.outside_band]


def group_performance(dimension: str, value: str, records: list[Scored]) -> GroupPerformance:
    """Counts, abstention, calibration at the horizons and C of one group of predictions."""
    patients = len({r.case.patient_id for r in records})
    if patients < min_group_size():
        return GroupPerformance(dimension, value, shown=False)
    latest = latest_per_case(records)
    band = float(settings.MONITORING_CALIBRATION_BAND)
    return GroupPerformance(
        dimension=dimension,
        value=value,
        shown=True,
        predictions=len(records),
        patients=patients,
        abstention_rate=sum(r.status == "abstained" for r in records) / len(records),
        failed=sum(r.status == "failed" for r in records),
        horizons=horizon_checks(latest, band),
        c_index=concordance(latest),
        without_time_zero=sum(r.months is None for r in latest),
        compared=sum(r.months is not None for r in latest),
    )


def subgroup_performance(records: list[Scored]) -> list[GroupPerformance]:
    """The whole model first, then every value of every subgroup dimension."""
    groups = [group_performance("all", "all predictions", records)]
    for dimension, keys in SUBGROUPS:
        members: dict[str, list[Scored]] = {}
        for record in records:
            for key in keys(record):
                members.setdefault(key, []).append(record)
        groups += [group_performance(dimension, key, rows) for key, rows in sorted(members.items())]
    return groups


@dataclass(frozen=True)
class Alert:
    model: RegisteredModel
    group: GroupPerformance
    check: HorizonCheck


def model_alerts(model: RegisteredModel, groups: list[GroupPerformance]) -> list[Alert]:
    return [Alert(model, group, check) for group in groups for check in group.alerts]
