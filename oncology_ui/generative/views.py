"""Asking for a case's generative profile and running an in-silico experiment on it."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from oncology_ui.core.audit import audit_case
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog
from oncology_ui.generative import services
from oncology_ui.generative.forms import ExperimentForm
from oncology_ui.generative.inputs import case_observation
from oncology_ui.generative.models import GenerativeProfile, Status
from oncology_ui.generative.sections import generative_section, learnt_genes_of
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.models import Case
from oncology_ui.patients.sections import section_response

SECTION = "generative"


def _started(request: AuthedRequest, case: Case, *, object_ref: str, message: str) -> HttpResponse:
    """Audit the queued computation and show the section (htmx) or go back to the case page."""
    audit_case(
        request=request,
        action=AccessLog.Action.CREATE,
        category="generative",
        case=case,
        object_ref=object_ref,
    )
    if request.htmx:
        return section_response(request, case, SECTION, generative_section)
    messages.info(request, message)
    return redirect("patients-case", case_id=case.pk)


@login_required
@require_POST
def profile_request(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="generative.add_generativeprofile")
    profile = services.generative_profile_request(case=case, user=request.user)
    return _started(
        request,
        case,
        object_ref=f"generative-profile:{profile.pk}",
        message="Generative profile started; its section updates when it is ready.",
    )


@login_required
@require_POST
def experiment_request(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="generative.add_insilicoexperiment")
    learnt = learnt_genes_of(
        GenerativeProfile.objects.filter(case=case).exclude(status=Status.PENDING).first()
    )
    form = ExperimentForm(request.POST, observation=case_observation(case), learnt=learnt)
    if not form.is_valid():
        loader = partial(generative_section, experiment_form=form)
        return section_response(request, case, SECTION, loader, status=400)
    experiment = services.insilico_experiment_request(
        case=case, user=request.user, change=form.the_change()
    )
    return _started(
        request,
        case,
        object_ref=f"insilico-experiment:{experiment.pk}",
        message="In-silico experiment started; its result appears when it is ready.",
    )
