"""Ranking a case's therapy options, the what-if comparison, accept/reject, the stored JSON."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from oncology_ui.core.audit import audit_case
from oncology_ui.core.http import AuthedRequest, page_or_partial
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.models import Case
from oncology_ui.patients.sections import section_response
from oncology_ui.therapies import services
from oncology_ui.therapies.access import ranking_for_user
from oncology_ui.therapies.forms import DecisionForm
from oncology_ui.therapies.selectors import therapies_section, whatif_view

A = AccessLog.Action


def _section(
    request: AuthedRequest,
    case: Case,
    *,
    error: str = "",
    form_errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    extra = {"therapy_error": error, "decision_errors": form_errors or {}}
    return section_response(request, case, "therapies", therapies_section, extra, status=status)


def _back(case: Case) -> HttpResponse:
    return redirect(reverse("patients-case", args=[case.pk]) + "#section-therapies")


def _changed(request: AuthedRequest, case: Case, message: str) -> HttpResponse:
    """After a change: the fresh section for htmx, else ``message`` on the case page."""
    if request.htmx:
        return _section(request, case)
    messages.success(request, message)
    return _back(case)


def _audit(request: AuthedRequest, action: str, case: Case, object_ref: str) -> None:
    audit_case(
        request=request, action=action, category="therapies", case=case, object_ref=object_ref
    )


@login_required
@require_POST
def ranking_create(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="therapies.add_therapyranking")
    try:
        ranking = services.ranking_compute(case=case, user=request.user)
    except services.RankingUnavailable as exc:
        if request.htmx:
            return _section(request, case, error=str(exc))
        messages.error(request, str(exc))
        return _back(case)
    _audit(request, A.CREATE, case, f"ranking:{ranking.pk}")
    return _changed(
        request, case, f"Therapy options ranked ({len(ranking.option_labels)} options)."
    )


@login_required
@require_POST
def decision_create(request: AuthedRequest, ranking_id: int) -> HttpResponse:
    ranking = ranking_for_user(request, ranking_id, permission="therapies.add_therapydecision")
    case = ranking.case
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decision = services.decision_record(
                ranking=ranking,
                option_key=form.cleaned_data["option"],
                verdict=form.cleaned_data["verdict"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _audit(request, A.CREATE, case, f"therapy-decision:{decision.pk}")
            message = f"{decision.get_verdict_display()}: {decision.option_label}."
            return _changed(request, case, message)
    errors = {key: [str(e) for e in value] for key, value in form.errors.items()}
    if request.htmx:
        return _section(request, case, form_errors=errors, status=422)
    for field, problems in errors.items():
        for problem in problems:
            messages.error(request, problem if field == "__all__" else f"{field}: {problem}")
    return _back(case)


@login_required
@require_GET
def whatif(request: AuthedRequest, ranking_id: int) -> HttpResponse:
    ranking = ranking_for_user(request, ranking_id)
    case = ranking.case
    _audit(request, A.VIEW, case, f"ranking:{ranking.pk}")
    context = {
        "case": case,
        "patient": case.patient,
        "ranking": ranking,
        "view": whatif_view(ranking, request.GET.getlist("option")),
    }
    return page_or_partial(
        request, "therapies/whatif.html", "therapies/whatif.html#whatif-panel", context
    )


@login_required
@require_GET
def ranking_json(request: AuthedRequest, ranking_id: int) -> HttpResponse:
    """The stored ranking exactly as shown, for the record and for other systems."""
    ranking = ranking_for_user(request, ranking_id)
    _audit(request, A.EXPORT, ranking.case, f"ranking:{ranking.pk}")
    body = {
        "ranking_id": ranking.pk,
        "case_id": ranking.case_id,
        "kb_version": ranking.kb_version,
        "model_version": ranking.model_version,
        "prediction_id": ranking.prediction_id,
        "created_at": ranking.created_at.isoformat(),
        "result": ranking.result,
    }
    response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="therapy-ranking-{ranking.pk}.json"'
    return response
