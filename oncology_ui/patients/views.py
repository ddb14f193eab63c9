"""Patient list, patient and case pages, their forms, and break-glass access to a patient.

Thin: access, form, service, render. The case canvas itself is :mod:`oncology_ui.casepage`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from oncology_ui.core.audit import audit_case, audit_record
from oncology_ui.core.forms import BreakGlassForm, add_validation_error
from oncology_ui.core.http import AuthedRequest, page_or_partial
from oncology_ui.core.models import AccessLog
from oncology_ui.core.services import break_glass_open
from oncology_ui.patients import services
from oncology_ui.patients.access import case_for_user, patient_for_user
from oncology_ui.patients.downloads import case_export_response, case_export_started
from oncology_ui.patients.forms import (
    CaseForm,
    PatientForm,
    PatientSearchForm,
    StatusForm,
    TimelineEventForm,
)
from oncology_ui.patients.models import Case, Patient
from oncology_ui.patients.sections import timeline_composed
from oncology_ui.patients.selectors import PatientFilters, patient_search

A = AccessLog.Action


def _audit_patient(request: AuthedRequest, action: str, patient: Patient) -> None:
    audit_record(
        request=request,
        action=action,
        category="demographics",
        patient_id=patient.pk,
        object_ref=f"patient:{patient.pk}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def patient_list(request: AuthedRequest) -> HttpResponse:
    """Patients of the user's teams; the search is POSTed so names never appear in URLs."""
    form = PatientSearchForm(request.POST or None, user=request.user)
    filters = PatientFilters()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filters = PatientFilters(
            text=data["q"],
            diagnosis=data["diagnosis"],
            status=data["status"],
            team_id=data["team"].pk if data["team"] else None,
            board_from=data["board_from"],
            board_to=data["board_to"],
        )
    patients = list(patient_search(user=request.user, filters=filters))
    audit_record(
        request=request, action=A.VIEW, category="patient-list", object_ref=f"rows:{len(patients)}"
    )
    context = {"form": form, "patients": patients, "searched": request.method == "POST"}
    template = "patients/patient_list.html"
    if request.htmx:
        template += "#patient-results"
    return render(request, template, context)


@login_required
@permission_required("patients.add_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_create(request: AuthedRequest) -> HttpResponse:
    return _patient_form_page(request, patient=None)


@login_required
@require_http_methods(["GET"])
def patient_detail(request: AuthedRequest, patient_id: int) -> HttpResponse:
    patient = patient_for_user(request, patient_id)
    _audit_patient(request, A.VIEW, patient)
    cases = patient.cases.all()
    return render(request, "patients/patient_detail.html", {"patient": patient, "cases": cases})


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: AuthedRequest, patient_id: int) -> HttpResponse:
    patient = patient_for_user(request, patient_id, permission="patients.change_patient")
    return _patient_form_page(request, patient=patient)


def _patient_form_page(request: AuthedRequest, *, patient: Patient | None) -> HttpResponse:
    """The patient form: adds a patient when ``patient`` is None, else edits that one."""
    form = PatientForm(request.POST or None, instance=patient, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        teams = data.pop("teams")
        try:
            if patient is None:
                saved = services.patient_create(teams=teams, created_by=request.user, **data)
            else:
                # A fresh copy: validating the form already wrote the new values onto ``patient``.
                saved = services.patient_update(patient=Patient.objects.get(pk=patient.pk), **data)
                saved.teams.set(teams)
        except ValidationError as exc:
            add_validation_error(form, exc)
        else:
            _audit_patient(request, A.CREATE if patient is None else A.UPDATE, saved)
            messages.success(
                request, "Patient added." if patient is None else "Patient details saved."
            )
            return redirect("patients-detail", patient_id=saved.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request: AuthedRequest, patient_id: int) -> HttpResponse:
    patient = patient_for_user(request, patient_id, permission="patients.add_case")
    return _case_form_page(request, patient=patient, case=None)


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="patients.change_case")
    return _case_form_page(request, patient=case.patient, case=case)


def _case_form_page(request: AuthedRequest, *, patient: Patient, case: Case | None) -> HttpResponse:
    """The case form: opens a case for ``patient`` when ``case`` is None, else edits that one."""
    form = CaseForm(
        request.POST or None, instance=case if case is not None else Case(patient=patient)
    )
    if request.method == "POST" and form.is_valid():
        try:
            if case is None:
                saved = services.case_create(
                    patient=patient, created_by=request.user, **form.cleaned_data
                )
            else:
                # A fresh copy: validating the form already wrote the new values onto ``case``.
                saved = services.case_update(case=Case.objects.get(pk=case.pk), **form.cleaned_data)
        except ValidationError as exc:
            add_validation_error(form, exc)
        else:
            audit_case(
                request=request,
                action=A.CREATE if case is None else A.UPDATE,
                category="case",
                case=saved,
            )
            messages.success(request, "Case created." if case is None else "Case saved.")
            return redirect("patients-case", case_id=saved.pk)
    return render(
        request, "patients/case_form.html", {"form": form, "patient": patient, "case": case}
    )


@login_required
@require_POST
def case_status(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="patients.change_case")
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            case = services.case_set_status(case=case, status=form.cleaned_data["status"])
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            audit_case(request=request, action=A.UPDATE, category="case-status", case=case)
            messages.success(request, f"Case is now “{case.get_status_display()}”.")
    else:
        messages.error(request, "Choose a valid status.")
    return redirect("patients-case", case_id=case.pk)


@login_required
@require_http_methods(["GET", "POST"])
def event_create(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="patients.add_timelineevent")
    form = TimelineEventForm(request.POST or None)
    form.instance.case = case
    created = False
    if request.method == "POST" and form.is_valid():
        try:
            event = services.timeline_event_create(
                case=case, created_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_error(form, exc)
        else:
            created = True
            audit_case(
                request=request,
                action=A.CREATE,
                category="timeline",
                case=case,
                object_ref=f"event:{event.pk}",
            )
            if not request.htmx:
                messages.success(request, "Event added to the timeline.")
                return redirect("patients-case", case_id=case.pk)
            form = TimelineEventForm()
    if request.htmx and request.method == "GET":
        # The case page's drawer asks for the bare form when it is opened.
        context = {"case": case, "event_form": form}
        return render(request, "patients/case_detail.html#add-event-form", context)
    # The composed timeline: the swapped-in section keeps the document rows the page shows.
    context = timeline_composed(request, case)
    context.update({"case": case, "patient": case.patient, "event_form": form, "created": created})
    return page_or_partial(
        request, "patients/event_form.html", "patients/case_detail.html#section-timeline", context
    )


@login_required
@require_POST
def case_export(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="patients.export_case")
    job = services.case_export_request(case=case, user=request.user)
    return case_export_started(
        request,
        case=case,
        job=job,
        category="timeline",
        partial="core/job_status.html#job-status",
        message="Export started; it appears below when ready.",
        back="patients-case",
    )


@login_required
@require_http_methods(["GET"])
def case_export_download(request: AuthedRequest, case_id: int, job_id: int) -> HttpResponseBase:
    case = case_for_user(request, case_id, permission="patients.export_case")
    return case_export_response(
        request,
        case=case,
        job_id=job_id,
        kind=services.EXPORT_JOB,
        path_for=services.case_export_path,
        category="timeline-download",
        filename=f"case-{case.pk}-timeline.csv",
        content_type="text/csv",
    )


@login_required
@permission_required("patients.view_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def break_glass(request: AuthedRequest) -> HttpResponse:
    """Open an out-of-team patient in an emergency: reason required, time-limited, audited."""
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = Patient.objects.filter(site=data["site"], mrn=data["mrn"]).first()
        if patient is None:
            audit_record(
                request=request,
                action=AccessLog.Action.DENIED,
                category="break-glass",
                object_ref=f"mrn-lookup:{data['site']}"[:80],
                outcome=AccessLog.Outcome.DENIED,
            )
            form.add_error("mrn", "No patient has this MRN at this site.")
        else:
            try:
                break_glass_open(
                    request=request, user=request.user, patient=patient, reason=data["reason"]
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("patients-detail", patient.pk)
    return render(
        request,
        "core/break_glass.html",
        {"form": form, "minutes": settings.BREAK_GLASS_MINUTES},
    )
