"""Cohort analytics pages: the builder with its curves and test, and its CSV and PNG exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from oncology_ui.cohorts.charts import drawing_png, drawing_svg_uri
from oncology_ui.cohorts.figures import comparison_figure
from oncology_ui.cohorts.forms import CohortForm
from oncology_ui.cohorts.monitoring_report import all_alerts, model_monitoring, monitored_models
from oncology_ui.cohorts.selectors import (
    AT_RISK_MONTHS,
    CohortComparison,
    cohort_choices,
    cohort_compare,
    comparison_rows,
    min_group_size,
    suppressed_text,
)
from oncology_ui.core.audit import audit_record
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.downloads import csv_download


def _build(request: AuthedRequest) -> tuple[dict[str, Any], CohortComparison | None]:
    """The two forms from the query, and the comparison once cohort A's form was submitted."""
    choices = cohort_choices(request.user)
    submitted = any(key.startswith("a-") for key in request.GET)
    data = request.GET if submitted else None
    first = CohortForm(data, prefix="a", choices=choices)
    second = CohortForm(data, prefix="b", choices=choices)
    context: dict[str, Any] = {
        "form_a": first,
        "form_b": second,
        "min_group_size": min_group_size(),
        "at_risk_months": AT_RISK_MONTHS,
        "query": request.GET.urlencode(),
    }
    if not submitted or not (first.is_valid() and second.is_valid()):
        return context, None
    cohort_a, cohort_b = first.cohort(), (second.cohort() if second.wanted else None)
    context["refs"] = [c.reference() for c in (cohort_a, cohort_b) if c is not None]
    comparison = cohort_compare(request.user, cohort_a, cohort_b)
    return context, comparison


def _audit(
    request: AuthedRequest, action: str, refs: list[str], comparison: CohortComparison
) -> None:
    # One row per look: the output is aggregate (no patient is shown). The reference is a hash
    # of each filter (never clinical values in the log), so an auditor can re-run what was seen.
    audit_record(
        request=request,
        action=action,
        category="cohort",
        object_ref=f"{'+'.join(refs)} n={len(comparison.patient_ids)}",
    )


@login_required
@permission_required("cohorts.view_cohorts", raise_exception=True)
@require_GET
def cohort_builder(request: AuthedRequest) -> HttpResponse:
    context, comparison = _build(request)
    if comparison is not None:
        _audit(request, AccessLog.Action.VIEW, context["refs"], comparison)
        figure = comparison_figure(comparison)
        context.update(
            {
                "comparison": comparison,
                "groups": [g for g in (comparison.first, comparison.second) if g is not None],
                "logrank_p": f"{comparison.logrank.p_value:.3g}" if comparison.logrank else "",
                "figure": drawing_svg_uri(figure),
            }
        )
    template = "cohorts/builder.html#cohort-results" if request.htmx else "cohorts/builder.html"
    status = 400 if context["form_a"].is_bound and comparison is None else 200
    return render(request, template, context, status=status)


def _refused(context: dict[str, Any]) -> HttpResponse:
    errors = [e for form in (context["form_a"], context["form_b"]) for e in form.errors.values()]
    text = " ".join(str(message) for error in errors for message in error) or (
        "Build a cohort first: the export takes the builder's filters."
    )
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def _export(
    request: AuthedRequest, respond: Callable[[CohortComparison], HttpResponse]
) -> HttpResponse:
    """The builder's comparison, audited as an export and given to ``respond``; else a 400."""
    context, comparison = _build(request)
    if comparison is None:
        return _refused(context)
    _audit(request, AccessLog.Action.EXPORT, context["refs"], comparison)
    return respond(comparison)


@login_required
@permission_required("cohorts.export_cohorts", raise_exception=True)
@require_GET
def cohort_export_csv(request: AuthedRequest) -> HttpResponse:
    return _export(
        request, lambda comparison: csv_download(comparison_rows(comparison), "cohort-survival.csv")
    )


@login_required
@permission_required("cohorts.export_cohorts", raise_exception=True)
@require_GET
def cohort_export_png(request: AuthedRequest) -> HttpResponse:
    def png(comparison: CohortComparison) -> HttpResponse:
        response = HttpResponse(
            drawing_png(comparison_figure(comparison)), content_type="image/png"
        )
        response["Content-Disposition"] = 'attachment; filename="cohort-survival.png"'
        return response

    return _export(request, png)


@login_required
@permission_required("cohorts.view_monitoring", raise_exception=True)
@require_GET
def monitoring(request: AuthedRequest) -> HttpResponse:
    """Every model's alerts; one model (``?model=``) in detail by subgroup."""
    models = monitored_models()
    raw = request.GET.get("model", "")
    chosen = next((m for m in models if str(m.pk) == raw), models[0] if models else None)
    detail = model_monitoring(chosen) if chosen is not None else None
    audit_record(
        request=request,
        action=AccessLog.Action.VIEW,
        category="monitoring",
        object_ref=f"model:{chosen.pk}" if chosen else "",
    )
    context = {
        "models": models,
        "chosen": chosen,
        "detail": detail,
        "alerts": all_alerts(models),
        "figure": drawing_svg_uri(detail.figure) if detail and detail.figure else "",
        "band_points": round(100 * settings.MONITORING_CALIBRATION_BAND),
        "min_group_size": min_group_size(),
        "suppressed_outcomes": suppressed_text(),
        "unknown_model": bool(raw) and (chosen is None or str(chosen.pk) != raw),
    }
    template = (
        "cohorts/monitoring.html#monitoring-model" if request.htmx else "cohorts/monitoring.html"
    )
    return render(request, template, context)
