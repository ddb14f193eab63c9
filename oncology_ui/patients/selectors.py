"""Reads of the clinical record that are more than a one-line query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch, Q, QuerySet

from oncology_ui.patients.models import Case, Patient


@dataclass(frozen=True)
class PatientFilters:
    text: str = ""
    diagnosis: str = ""
    status: str = ""
    team_id: int | None = None
    board_from: date | None = None
    board_to: date | None = None


def patient_search(
    *, user: User | AnonymousUser, filters: PatientFilters, limit: int = 200
) -> QuerySet[Patient]:
    """Patients the user may see matching name, MRN, diagnosis, case status, team and board date."""
    patients = Patient.objects.visible_to(user)
    text = filters.text.strip()
    if text:
        words = text.split()
        for word in words:
            patients = patients.filter(
                Q(given_name__icontains=word)
                | Q(family_name__icontains=word)
                | Q(mrn__icontains=word)
            )
    case_filter = Q()
    if filters.diagnosis:
        needle = filters.diagnosis.strip()
        case_filter &= (
            Q(cases__oncotree_code__iexact=needle)
            | Q(cases__primary_diagnosis__icontains=needle)
            | Q(cases__icd10_code__istartswith=needle)
        )
    if filters.status:
        case_filter &= Q(cases__status=filters.status)
    if filters.board_from:
        case_filter &= Q(cases__board_date__gte=filters.board_from)
    if filters.board_to:
        case_filter &= Q(cases__board_date__lte=filters.board_to)
    if case_filter:
        patients = patients.filter(case_filter)
    if filters.team_id:
        patients = patients.filter(teams__id=filters.team_id)
    return (
        patients.distinct()
        .prefetch_related(
            Prefetch("cases", queryset=Case.objects.order_by("-diagnosis_date")), "teams"
        )
        .order_by("family_name", "given_name", "id")[:limit]
    )
