"""The model committee's recalibration page: start a recalibration, read the site report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from oncology_ui.core.audit import audit_record
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog
from oncology_ui.modelregistry.models import RegisteredModel
from oncology_ui.sitelearn import selectors, services

VIEW_PERMISSION = "modelregistry.view_registeredmodel"


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_GET
def recalibration_list(request: AuthedRequest) -> HttpResponse:
    audit_record(request=request, action=AccessLog.Action.VIEW, category="model-recalibration")
    return render(
        request,
        "sitelearn/recalibration_list.html",
        {
            "models": selectors.recalibratable_models(),
            "jobs": selectors.recalibration_jobs(),
            "candidates": selectors.recalibrated_candidates(),
            "can_start": request.user.has_perm(services.PERMISSION),
        },
    )


@login_required
@permission_required(services.PERMISSION, raise_exception=True)
@require_POST
def recalibration_start(request: AuthedRequest, model_id: int) -> HttpResponse:
    model = get_object_or_404(RegisteredModel, pk=model_id)
    try:
        job = services.recalibration_request(model=model, user=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sitelearn-recalibration")
    messages.success(
        request,
        f"Recalibration of {model.label} started (job {job.pk}); its candidate and site report "
        "appear below when it finishes.",
    )
    return redirect("core-job-status", job_id=job.pk)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_GET
def recalibration_report(request: AuthedRequest, model_id: int) -> HttpResponse:
    model = get_object_or_404(
        RegisteredModel.objects.select_related("parent"), pk=model_id, site_report__isnull=False
    )
    audit_record(
        request=request, action=AccessLog.Action.VIEW, category="model-recalibration",
        object_ref=f"registered-model:{model.pk}",
    )  # fmt: skip
    report = model.site_report or {}
    return render(
        request,
        "sitelearn/recalibration_report.html",
        {
            "model": model,
            "report": report,
            "split": report.get("split", {}),
            "parameters": model.recalibration or {},
            "rows": selectors.report_rows(report),
            "horizons": selectors.horizon_rows(report),
        },
    )
