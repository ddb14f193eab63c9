"""The one place that decides whether a user may see a patient or case.

Objects outside the user's care teams answer 404 (never 403, so their existence is not
revealed) and write one ``denied`` audit row.
"""

from __future__ import annotations

from django.http import HttpRequest

from oncology_ui.core.querysets import one_or_denied
from oncology_ui.patients.models import Case, Patient, TimelineEvent


def patient_for_user(
    request: HttpRequest, patient_id: int, *, permission: str = "patients.view_patient"
) -> Patient:
    return Patient.objects.visible_or_denied(
        request, patient_id, permission=permission, category="patient", kind="patient"
    )


def case_for_user(
    request: HttpRequest, case_id: int, *, permission: str = "patients.view_case"
) -> Case:
    return Case.objects.select_related("patient").visible_or_denied(
        request, case_id, permission=permission, category="case", kind="case"
    )


def event_for_user(
    request: HttpRequest, event_id: int, *, permission: str = "patients.change_timelineevent"
) -> TimelineEvent:
    events = (
        TimelineEvent.objects.filter(case__patient__teams__members=request.user)
        if request.user.is_authenticated
        else TimelineEvent.objects.none()
    )
    return one_or_denied(
        request,
        events.select_related("case__patient"),
        event_id,
        permission=permission,
        category="timeline",
        kind="event",
    )
