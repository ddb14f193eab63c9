"""Imports, their reports, the labs and molecular pages, biomarker entry and FHIR export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oncology_ui.clinical import exports, expression, facts, services
from oncology_ui.clinical.forms import (
    BiomarkerForm,
    ExpressionImportForm,
    ImportForm,
    MolecularFilterForm,
)
from oncology_ui.clinical.models import ClinicalImport
from oncology_ui.clinical.parsers.expression import EXAMPLE_ROWS as EXPRESSION_EXAMPLE_ROWS
from oncology_ui.clinical.parsers.labcsv import TEMPLATE_COLUMNS, TEMPLATE_EXAMPLE_ROWS
from oncology_ui.clinical.parsers.variants import VARIANT_CSV_COLUMNS, VARIANT_CSV_EXAMPLE_ROWS
from oncology_ui.clinical.selectors import MolecularFilters, labs_view, molecular_view
from oncology_ui.core.audit import audit_case
from oncology_ui.core.decorators import passive
from oncology_ui.core.forms import add_validation_error
from oncology_ui.core.http import AuthedRequest, case_section_page
from oncology_ui.core.ingest import (
    content_length,
    ingest_received_response,
    ingest_status_response,
)
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.downloads import (
    case_export_response,
    case_export_started,
    csv_download,
)
from oncology_ui.patients.models import Case

A = AccessLog.Action


def _import_for_user(
    request: HttpRequest, import_id: int, *, permission: str = "clinical.view_clinicalimport"
) -> ClinicalImport:
    """The import if its case is in the user's teams and the role allows; else 404 + audit."""
    return ClinicalImport.objects.select_related("case__patient", "job").visible_or_denied(
        request, import_id, permission=permission, category="clinical-import", kind="import"
    )


def _audit_import(
    request: AuthedRequest, action: str, category: str, record: ClinicalImport
) -> None:
    audit_case(
        request=request,
        action=action,
        category=category,
        case=record.case,
        object_ref=f"import:{record.pk}",
    )


def _import_page(
    request: AuthedRequest,
    case: Case,
    *,
    template: str,
    form_class: type[forms.Form],
    context: dict[str, Any],
    import_options: Callable[[dict[str, Any]], dict[str, Any]],
    message: str,
    error_field: Callable[[ValidationError], str] = lambda exc: "file",
) -> HttpResponse:
    """An import's upload page: checked, stored and imported in the background.

    `import_options(cleaned_data)` gives the import's kind and options; a ValidationError from it
    or from storing the file lands on the form field `error_field` names.
    """
    limit = services.max_upload_bytes()
    context = {"case": case, "patient": case.patient, "limit_mb": limit // 1_048_576, **context}
    if request.method == "POST" and content_length(request) > limit + 64 * 1024:
        # Refused before the body is read, so an oversized upload is never buffered.
        return render(
            request, template, {**context, "form": form_class(), "too_large": limit}, status=413
        )
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record = services.import_receive(
                case=case,
                user=request.user,
                upload=upload,
                name=upload.name or "upload",
                size=upload.size or 0,
                **import_options(form.cleaned_data),
            )
        except ValidationError as exc:
            form.add_error(error_field(exc), exc.messages)
        else:
            return ingest_received_response(
                request,
                record,
                patient_id=case.patient_id,
                category="clinical-import",
                object_ref=f"import:{record.pk}",
                message=message,
            )
    return render(request, template, {**context, "form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Upload a lab, variant or FHIR file; it is checked, stored and imported in the background."""
    case = case_for_user(request, case_id, permission="clinical.add_clinicalimport")

    return _import_page(
        request,
        case,
        template="clinical/import_page.html",
        form_class=ImportForm,
        context={"imports": ClinicalImport.objects.filter(case=case).select_related("job")[:10]},
        import_options=lambda data: {"kind": data["kind"]},
        message="File received; the import runs in the background.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def expression_import(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Upload gene expression with its unit and scale; imported in the background."""
    case = case_for_user(request, case_id, permission="clinical.add_clinicalimport")

    def import_options(data: dict[str, Any]) -> dict[str, Any]:
        options = expression.expression_options(case=case, unit=data["unit"], scale=data["scale"])
        return {"kind": ClinicalImport.Kind.EXPRESSION, "options": options}

    return _import_page(
        request,
        case,
        template="clinical/expression_import_page.html",
        form_class=ExpressionImportForm,
        context={
            "imports": ClinicalImport.objects.filter(
                case=case, kind=ClinicalImport.Kind.EXPRESSION
            ).select_related("job")[:10],
            "reference_note": expression.expression_reference_note(case),
        },
        import_options=import_options,
        message="File received; the expression import runs in the background.",
        error_field=lambda exc: "file" if exc.code == "file" else "unit",
    )


@login_required
@require_GET
def expression_template(request: AuthedRequest) -> HttpResponse:
    return csv_download(list(EXPRESSION_EXAMPLE_ROWS), "expression-template.csv")


@passive
@login_required
@require_GET
def import_detail(request: AuthedRequest, import_id: int) -> HttpResponse:
    """The import's status and report; as an htmx partial it polls itself until finished."""
    record = _import_for_user(request, import_id)
    _audit_import(request, A.VIEW, "clinical-import", record)
    context = {"record": record, "case": record.case, "patient": record.case.patient}
    return ingest_status_response(
        request, record, page="clinical/import_detail.html", context=context
    )


@login_required
@require_GET
def import_report(request: AuthedRequest, import_id: int) -> HttpResponse:
    """The import's problems and warnings as CSV (cells neutralised against formulas)."""
    record = _import_for_user(request, import_id)
    _audit_import(request, A.EXPORT, "clinical-import-report", record)
    rows: list[tuple[object, ...]] = [("severity", "where", "message")]
    rows += [("error", p["where"], p["message"]) for p in record.problems]
    rows += [("warning", w["where"], w["message"]) for w in record.warnings]
    if record.problem_count > len(record.problems):
        rows.append(
            ("error", "file", f"{record.problem_count - len(record.problems)} more not listed")
        )
    return csv_download(rows, f"import-{record.pk}-report.csv")


@login_required
@require_GET
def lab_template(request: AuthedRequest) -> HttpResponse:
    return csv_download([TEMPLATE_COLUMNS, *TEMPLATE_EXAMPLE_ROWS], "lab-results-template.csv")


@login_required
@require_GET
def variant_template(request: AuthedRequest) -> HttpResponse:
    return csv_download([VARIANT_CSV_COLUMNS, *VARIANT_CSV_EXAMPLE_ROWS], "variants-template.csv")


@login_required
@require_GET
def labs_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    """All lab results with flags and a trend chart per analyte (``?analyte=`` for one)."""
    case = case_for_user(request, case_id, permission="clinical.view_labresult")
    audit_case(request=request, action=A.VIEW, category="labs", case=case)
    analyte = request.GET.get("analyte", "")[:40]
    context = {
        "labs_view": labs_view(case, analyte=analyte),
        "can_import_clinical": request.user.has_perm("clinical.add_clinicalimport"),
    }
    return case_section_page(
        request, case, "clinical/labs_page.html", "clinical/labs_section.html", context
    )


@login_required
@require_GET
def molecular_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Variants with evidence badges, filterable by gene, kind and actionability; biomarkers."""
    case = case_for_user(request, case_id, permission="clinical.view_variant")
    audit_case(request=request, action=A.VIEW, category="molecular", case=case)
    form = MolecularFilterForm(request.GET or None)
    filters = MolecularFilters()
    if form.is_valid():
        filters = MolecularFilters(
            gene=form.cleaned_data["gene"],
            kind=form.cleaned_data["kind"],
            actionable_only=form.cleaned_data["actionable"],
        )
    context = {
        "molecular_view": molecular_view(case, filters),
        "hallmarks": expression.measured_hallmarks(case),
        "filter_form": form if form.is_bound else MolecularFilterForm(),
        "can_import_clinical": request.user.has_perm("clinical.add_clinicalimport"),
        "can_add_biomarker": request.user.has_perm("clinical.add_biomarker"),
    }
    return case_section_page(
        request, case, "clinical/molecular_page.html", "clinical/molecular_section.html", context
    )


@login_required
@require_http_methods(["GET", "POST"])
def biomarker_create(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="clinical.add_biomarker")
    form = BiomarkerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            marker = facts.biomarker_add(case=case, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_error(form, exc)
        else:
            audit_case(
                request=request,
                action=A.CREATE,
                category="biomarker",
                case=case,
                object_ref=f"biomarker:{marker.pk}",
            )
            messages.success(request, f"{marker.name} recorded.")
            return redirect("clinical-molecular", case_id=case.pk)
    return render(
        request,
        "clinical/biomarker_form.html",
        {"case": case, "patient": case.patient, "form": form},
    )


@login_required
@require_POST
def fhir_export(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="patients.export_case")
    job = exports.fhir_export_request(case=case, user=request.user)
    return case_export_started(
        request,
        case=case,
        job=job,
        category="fhir",
        partial="clinical/_export_status.html",
        message="FHIR export started; the download link appears when it is ready.",
        back="clinical-labs",
    )


@login_required
@require_GET
def fhir_export_download(request: AuthedRequest, case_id: int, job_id: int) -> HttpResponseBase:
    case = case_for_user(request, case_id, permission="patients.export_case")
    return case_export_response(
        request,
        case=case,
        job_id=job_id,
        kind=exports.EXPORT_JOB,
        path_for=exports.export_path,
        category="fhir-download",
        filename=f"case-{case.pk}-fhir.json",
        content_type="application/fhir+json",
    )
