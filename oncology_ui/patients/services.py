"""Writes to the clinical record. Each service validates fully before saving anything."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction

from oncology_ui.core.jobs import ProgressCallback, job_enqueue
from oncology_ui.core.models import Job, Team
from oncology_ui.patients.models import Case, Patient, TimelineEvent

_Row = TypeVar("_Row", bound=models.Model)


@transaction.atomic
def patient_create(*, teams: Iterable[Team], created_by: User, **fields: Any) -> Patient:
    """Create a patient in ``teams`` (at least one, so someone can see them)."""
    team_list = list(teams)
    if not team_list:
        raise ValidationError({"teams": "Choose at least one care team."})
    patient = Patient(**fields)
    patient.full_clean()
    patient.save()
    patient.teams.set(team_list)
    return patient


def validated_update(row: _Row, fields: dict[str, Any]) -> _Row:
    """Set ``fields`` on ``row``, then validate the whole row before saving it."""
    for name, value in fields.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def patient_update(*, patient: Patient, **fields: Any) -> Patient:
    return validated_update(patient, fields)


@transaction.atomic
def case_create(*, patient: Patient, created_by: User, **fields: Any) -> Case:
    """Create a case and its diagnosis event on the timeline."""
    case = Case(patient=patient, created_by=created_by, **fields)
    case.full_clean()
    case.save()
    TimelineEvent.objects.create(
        case=case,
        kind=TimelineEvent.Kind.DIAGNOSIS,
        date=case.diagnosis_date,
        title=case.primary_diagnosis,
        created_by=created_by,
    )
    return case


@transaction.atomic
def case_update(*, case: Case, **fields: Any) -> Case:
    return validated_update(case, fields)


@transaction.atomic
def case_set_status(*, case: Case, status: str) -> Case:
    """Move a case along draft -> ready for board -> discussed -> closed."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if status not in Case.Status.values:
        raise ValidationError({"status": "Unknown status."})
    if not locked.can_move_to(status):
        raise ValidationError(
            {
                "status": f"A case that is “{locked.get_status_display()}” cannot move to "
                f"“{Case.Status(status).label}”."
            }
        )
    if status == Case.Status.READY and locked.board_date is None:
        raise ValidationError({"status": "Set the tumor board date before marking the case ready."})
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def timeline_event_create(*, case: Case, created_by: User, **fields: Any) -> TimelineEvent:
    """Add a dated event; progression and death events also update the outcome fields."""
    event = TimelineEvent(case=case, created_by=created_by, **fields)
    event.full_clean()
    event.save()
    _apply_outcome(event)
    return event


def _apply_outcome(event: TimelineEvent) -> None:
    case = event.case
    patient = case.patient
    if event.kind == TimelineEvent.Kind.PROGRESSION and (
        case.progression_date is None or event.date < case.progression_date
    ):
        case.progression_date = event.date
        case.save(update_fields=["progression_date", "updated_at"])
    elif event.kind == TimelineEvent.Kind.DEATH:
        patient.vital_status = Patient.VitalStatus.DECEASED
        patient.date_of_death = event.date
        patient.full_clean()
        patient.save(update_fields=["vital_status", "date_of_death", "updated_at"])
    if event.kind in {TimelineEvent.Kind.LAST_FOLLOW_UP, TimelineEvent.Kind.DEATH} and (
        patient.last_contact_date is None or event.date > patient.last_contact_date
    ):
        patient.last_contact_date = event.date
        patient.save(update_fields=["last_contact_date", "updated_at"])


# --- export of a case timeline as a background job ---------------------------------------------

EXPORT_JOB = "case_timeline_export"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """Text a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def case_export_request(*, case: Case, user: User) -> Job:
    """Queue a CSV export of the case timeline; the file is built by the job."""
    return job_enqueue(kind=EXPORT_JOB, target=case, user=user, message="Export queued")


def case_export_path(job: Job) -> str:
    return f"exports/case-{job.target_id}-job-{job.pk}.csv"


def case_export_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Write the timeline CSV for the job's case. Rewrites the same file if run twice."""
    case = Case.objects.select_related("patient").get(pk=job.target_id)
    events = list(case.events.all())
    progress(10, f"Writing {len(events)} events")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["date", "end_date", "kind", "label", "line", "regimen", "response", "stop_reason"]
    )
    for event in events:
        writer.writerow(
            [
                csv_safe(event.date.isoformat()),
                csv_safe(event.end_date.isoformat() if event.end_date else ""),
                csv_safe(event.get_kind_display()),
                csv_safe(event.label),
                csv_safe(event.line_number or ""),
                csv_safe(event.regimen),
                csv_safe(event.response),
                csv_safe(event.stop_reason),
            ]
        )
    path = settings.MEDIA_ROOT / case_export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(path)  # atomic: a rerun never leaves a half-written file behind
    progress(100, "Export ready")
    return {"file": case_export_path(job), "rows": len(events)}
