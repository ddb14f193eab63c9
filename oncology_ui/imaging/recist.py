"""RECIST 1.1 time points of a case and their response events on the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from inference.imaging.recist import RecistError, assess
from inference.imaging.schema import RecistLesion, RecistTimePoint
from oncology_ui.imaging.models import RecistAssessment
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.services import timeline_event_create


def _timepoint(row: RecistAssessment) -> RecistTimePoint:
    return RecistTimePoint(
        date=row.date.isoformat(),
        lesions=tuple(
            RecistLesion(
                lesion_id=str(les["lesion_id"]),
                kind=les["kind"],
                diameter_mm=les.get("diameter_mm"),
                is_lymph_node=bool(les.get("is_lymph_node")),
                status=les.get("status") or "present",
            )
            for les in row.lesions
        ),
    )


@transaction.atomic
def recist_record(
    *, case: Case, user: User, date: dt.date, lesions: list[dict[str, Any]]
) -> RecistAssessment:
    """Record one time point; a follow-up is assessed against the baseline and nadir.

    The earliest time point is the baseline. Time points are entered in date order (a point
    before the latest one would change every later category), and a follow-up becomes a
    "response assessment" event on the case timeline with its overall category.

    Raises:
        ValidationError: a date not after the latest time point, or lesions RECIST cannot assess.
    """
    # The case row is the lock: two people saving time points at once are put in order.
    list(Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True))
    earlier = list(RecistAssessment.objects.filter(case=case).order_by("date"))
    if earlier and date <= earlier[-1].date:
        raise ValidationError(
            "Time points are entered in order: this date must be after "
            f"{earlier[-1].date:%d %b %Y}."
        )
    row = RecistAssessment(case=case, date=date, lesions=lesions, created_by=user)
    targets = [les for les in lesions if les["kind"] == "target"]
    row.sum_of_diameters_mm = float(sum(les.get("diameter_mm") or 0.0 for les in targets))
    if earlier:
        try:
            results = assess([_timepoint(r) for r in earlier] + [_timepoint(row)])
        except RecistError as exc:
            raise ValidationError(f"RECIST cannot assess this time point: {exc}.") from exc
        last = results[-1]
        row.sum_of_diameters_mm = last.sum_of_diameters_mm
        row.baseline_sum_mm = last.baseline_sum_mm
        row.nadir_sum_mm = last.nadir_sum_mm
        row.change_from_baseline_pct = last.change_from_baseline_pct
        row.change_from_nadir_pct = last.change_from_nadir_pct
        row.target_response = last.target_response
        row.non_target_response = last.non_target_response
        row.overall = last.overall
        row.reasons = list(last.reasons)
    elif any(les["kind"] == "new" for les in lesions):
        raise ValidationError("A baseline has no new lesions: mark them as targets or non-targets.")
    elif not lesions:
        raise ValidationError("A baseline needs at least one target or non-target lesion.")
    row.full_clean()
    row.save()
    if row.overall:
        change = (
            f"{row.change_from_baseline_pct:+.0f}% from baseline"
            if row.change_from_baseline_pct is not None
            else ""
        )
        row.timeline_event = timeline_event_create(
            case=case,
            created_by=user,
            kind=TimelineEvent.Kind.RESPONSE,
            date=date,
            response=row.overall,
            title=f"RECIST 1.1: {row.overall}",
            detail=f"Sum of diameters {row.sum_of_diameters_mm:.1f} mm ({change}). "
            + " ".join(row.reasons),
        )
        row.save(update_fields=["timeline_event"])
    return row
