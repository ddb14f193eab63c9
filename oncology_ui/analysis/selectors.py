"""Reads of stored predictions as they apply today: from where the patient is, and whether stale.

A stored prediction is never changed; what changes with the calendar (the time the patient has
already survived) and with the record (newer inputs) is computed here on each read, for the page
and the PDF alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from inference.schema import SurvivalCurve
from inference.survival.conditional import condition_on_survival
from inference.weights import TIME_ZERO_LABELS, time_zero_of
from oncology_ui.analysis.adapters import case_snapshot
from oncology_ui.analysis.models import Prediction
from oncology_ui.patients.models import Case, Patient, TimelineEvent

#: Average month length: the models' times are in months of 365.25 / 12 days.
DAYS_PER_MONTH = 365.25 / 12

#: Snapshot parts that reach the model, with the words the staleness note uses.
MODEL_INPUT_PARTS = {
    "clinical": "clinical facts",
    "labs": "laboratory results",
    "molecular": "molecular profile",
    "slides": "pathology slides",
    "imaging": "radiology",
    "treatment": "therapies given",
    "portrait": "clinical facts (stage, grade, nodes, receptors, labs)",
}


def _model_part(snapshot: dict[str, Any], part: str) -> Any:
    """What of a snapshot part reaches a model: the portrait's values, not its source notes."""
    value = snapshot.get(part)
    if part == "portrait" and isinstance(value, dict):
        return value.get("values")
    return value


@dataclass(frozen=True)
class PrognosisFromToday:
    """The stored prediction read from today.

    Attributes:
        conditioned: the curve is conditional on survival since time zero (``S(t+e)/S(e)``).
        time_zero: ``"diagnosis"``, ``"surgery"``, ``"randomisation"``, ``"study_entry"`` or
            ``None`` (a model OncoBoard did not ship).
        time_zero_date: the date of time zero in the record, when it holds one.
        today: the date the curve starts from when conditioned.
        elapsed_months: months from time zero to today (or to death), when the date is known.
        curve: the curve to draw (``times_months`` from today when conditioned), ``None`` when the
            conditional curve cannot be given.
        landmarks: 1/3/5-year rows ``{"years", "survival", "lower", "upper"}`` on that curve.
        median_months: median on that curve, ``None`` when not reached within ``horizon_months``.
        horizon_months: how far the drawn curve reaches.
        axis_label: what the x axis counts.
        basis: one sentence saying what time zero is and what the curve is conditioned on.
        abstained: why no curve from today can be given ('' when one is given).
    """

    conditioned: bool
    time_zero: str | None
    time_zero_date: date | None
    today: date
    elapsed_months: float | None
    curve: dict[str, list[float]] | None
    landmarks: list[dict[str, Any]]
    median_months: float | None
    horizon_months: float
    axis_label: str
    basis: str
    abstained: str = ""

    @property
    def elapsed_years(self) -> float | None:
        return None if self.elapsed_months is None else self.elapsed_months / 12.0


def _years(months: float) -> str:
    return f"{months / 12.0:.1f} years" if months >= 12 else f"{months:.0f} months"


def time_zero_date(case: Case, time_zero: str | None) -> date | None:
    """The record's date of a curve's time zero: the diagnosis, or the first surgery; None when
    the record cannot hold it (randomisation or study entry of a training cohort)."""
    if time_zero == "diagnosis":
        return case.diagnosis_date
    if time_zero == "surgery":
        first = case.events.filter(kind=TimelineEvent.Kind.SURGERY).order_by("date").first()
        return first.date if first is not None else None
    return None


def prognosis_from_today(
    prediction: Prediction, *, case: Case, today: date, dates_as_days: bool = False
) -> PrognosisFromToday:
    """The stored curve conditioned on the time the patient has already survived.

    1. The curve's time zero is stored with the prediction (portrait models: the reference
       cohort's, per cancer type) or comes from the shipped checkpoint.
    2. When the record holds its date (the diagnosis, or the first surgery) and the patient is
       alive, the curve, its band and the landmarks become ``S(t + e) / S(e)`` with ``e`` the
       months from that date to ``today``.
    3. Otherwise (dead, another time zero, unknown model) the stored curve is shown from time
       zero and ``basis`` says why it is not conditioned.

    Args:
        prediction: the stored prediction.
        case: its case (for the diagnosis date and vital status).
        today: the date the reader stands on.
        dates_as_days: write dates as days from diagnosis (de-identified reports).
    """
    stored = prediction.curve or {}
    time_zero = prediction.time_zero or time_zero_of(prediction.model_name)
    patient = case.patient
    zero = time_zero_date(case, time_zero)
    event = "surgery" if time_zero == "surgery" else "diagnosis"
    since = (
        f"{event} (day {(zero - case.diagnosis_date).days})"
        if dates_as_days and zero is not None
        else f"{event} on {zero.isoformat() if zero else '?'}"
    )
    unconditioned: dict[str, Any] = {
        "conditioned": False,
        "time_zero": time_zero,
        "time_zero_date": zero,
        "today": today,
        "curve": stored or None,
        "landmarks": list(prediction.survival_at or []),
        "median_months": prediction.median_months,
        "horizon_months": float((stored.get("times_months") or [0.0])[-1]),
    }
    if zero is None:
        label = (prediction.validation or {}).get("time_zero_label") or TIME_ZERO_LABELS.get(
            time_zero or "", "not recorded for this model"
        )
        return PrognosisFromToday(
            **unconditioned,
            elapsed_months=None,
            axis_label="Years from the model's time zero",
            basis=(
                f"The curve counts from the model's time zero ({label}). The record holds no "
                "date for it, so the curve is not conditioned on the time already survived and "
                "does not start from today."
            ),
        )
    if patient.vital_status == Patient.VitalStatus.DECEASED:
        death = patient.date_of_death
        return PrognosisFromToday(
            **unconditioned,
            elapsed_months=(death - zero).days / DAYS_PER_MONTH if death else None,
            axis_label=f"Years from {event}",
            basis=(
                "The patient is recorded as deceased"
                + ("" if dates_as_days or death is None else f" on {death.isoformat()}")
                + f"; the stored curve is shown from {since} for the record."
            ),
        )
    elapsed = max(0, (today - zero).days) / DAYS_PER_MONTH
    today_text = f"day {(today - zero).days:+d}" if dates_as_days else today.isoformat()
    basis = f"Years from today ({today_text}), given survival since {since}, {_years(elapsed)} ago."
    try:
        result = condition_on_survival(
            SurvivalCurve(
                times_months=tuple(stored["times_months"]),
                survival=tuple(stored["survival"]),
                lower=tuple(stored["lower"]),
                upper=tuple(stored["upper"]),
            ),
            elapsed,
        )
    except (KeyError, TypeError, ValueError):
        # A row stored without a usable curve: say so rather than fail the page or the PDF.
        return PrognosisFromToday(
            **{**unconditioned, "curve": None, "landmarks": [], "median_months": None},
            elapsed_months=elapsed,
            axis_label="Years from today",
            basis=basis,
            abstained="The stored prediction has no usable survival curve; re-run the analysis.",
        )
    # What both the abstained and the conditioned answer from today say.
    from_today: dict[str, Any] = {
        "conditioned": True,
        "time_zero": time_zero,
        "time_zero_date": zero,
        "today": today,
        "elapsed_months": elapsed,
        "axis_label": "Years from today",
    }
    if result.status != "ok" or result.curve is None:
        return PrognosisFromToday(
            **from_today,
            curve=None,
            landmarks=[],
            median_months=None,
            horizon_months=result.horizon_months,
            basis=basis,
            abstained=result.reason,
        )
    curve = result.curve
    if result.horizon_months < 60:
        basis += (
            f" The model's curve ends {result.horizon_months:.0f} months from today; "
            "it is not extended beyond."
        )
    return PrognosisFromToday(
        **from_today,
        curve={
            "times_months": list(curve.times_months),
            "survival": list(curve.survival),
            "lower": list(curve.lower),
            "upper": list(curve.upper),
        },
        landmarks=[
            {"years": m.years, "survival": m.survival, "lower": m.lower, "upper": m.upper}
            for m in result.survival_at
        ],
        median_months=result.median_months,
        horizon_months=result.horizon_months,
        basis=basis,
    )


def prediction_stale_parts(prediction: Prediction, *, case: Case) -> list[str]:
    """The model inputs that changed in the record since ``prediction`` was made, in words.

    The case's snapshot is rebuilt now and compared, part by part, with the one the run stored;
    an empty list means a re-run would see exactly the same inputs.
    """
    stored = prediction.run.inputs_snapshot or {}
    # Through JSON, as the stored copy went: tuples become lists, so equal inputs compare equal.
    current = json.loads(json.dumps(case_snapshot(case)))
    return [
        words
        for part, words in MODEL_INPUT_PARTS.items()
        if _model_part(stored, part) != _model_part(current, part)
    ]
