"""Asking for an analysis of a case, and the model cards behind the predictions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from oncology_ui.analysis import services
from oncology_ui.analysis.sections import prognosis_section
from oncology_ui.core.audit import audit_case
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.sections import section_response


@login_required
@require_POST
def analysis_request(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="analysis.add_analysisrun")
    run = services.analysis_request(case=case, user=request.user)
    audit_case(
        request=request,
        action=AccessLog.Action.CREATE,
        category="analysis",
        case=case,
        object_ref=f"analysis:{run.pk}",
    )
    if request.htmx:
        return section_response(request, case, "prognosis", prognosis_section)
    messages.info(request, "Analysis started; the prognosis section updates when it is ready.")
    return redirect("patients-case", case_id=case.pk)


@login_required
@require_GET
def model_card(request: AuthedRequest, name: str) -> HttpResponse:
    """The model card of a shipped checkpoint, as its Markdown text."""
    from inference.weights import model_card_path

    path = model_card_path(name)
    if path is None:
        raise Http404("No such model")
    if not path.is_file():
        raise Http404("The model card is missing")
    return render(
        request,
        "analysis/model_card.html",
        {"name": name, "card": path.read_text(encoding="utf-8")},
    )
