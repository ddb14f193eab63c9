"""The one place that decides whether a user may see a patient or case.

Objects outside the user's care teams answer 404 (never 403, so their existence is not
revealed) and write one ``denied`` audit row.
"""

from __future__ import annotations

from django.http import HttpRequest

from oncology_ui.core.audit import access_denied
from oncology_ui.patients.models import Case, Patient, TimelineEvent


def patient_for_user(
    request: HttpRequest, patient_id: int, *, permission: str = "patients.view_patient"
) -> Patient:
    patient = Patient.objects.visible_to(request.user).filter(pk=patient_id).first()
    if patient is None or not request.user.has_perm(permission):
        raise access_denied(request, category="patient", object_ref=f"patient:{patient_id}")
    return patient


def case_for_user(
    request: HttpRequest, case_id: int, *, permission: str = "patients.view_case"
) -> Case:
    case = (
        Case.objects.visible_to(request.user).select_related("patient").filter(pk=case_id).first()
    )
    if case is None or not request.user.has_perm(permission):
        raise access_denied(request, category="case", object_ref=f"case:{case_id}")
    return case


def event_for_user(
    request: HttpRequest, event_id: int, *, permission: str = "patients.change_timelineevent"
) -> TimelineEvent:
    event = (
        TimelineEvent.objects.filter(case__patient__teams__members=request.user, pk=event_id)
        .select_related("case__patient")
        .first()
        if request.user.is_authenticated
        else None
    )
    if event is None or not request.user.has_perm(permission):
        raise access_denied(request, category="timeline", object_ref=f"event:{event_id}")
    return event
