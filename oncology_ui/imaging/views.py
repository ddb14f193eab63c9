"""Upload, ingest status, viewer and slices, pixel review and RECIST time points."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inference.imaging.render import RenderError
from oncology_ui.core.audit import access_denied, audit_case, audit_record
from oncology_ui.core.decorators import passive
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.ingest import (
    content_length,
    ingest_received_response,
    ingest_refused_response,
    ingest_status_response,
)
from oncology_ui.core.models import AccessLog
from oncology_ui.imaging import held as held_images
from oncology_ui.imaging import pacs, pacs_results, recist, selectors, services
from oncology_ui.imaging.conf import imaging_settings
from oncology_ui.imaging.connections import pacs_connections
from oncology_ui.imaging.forms import (
    PacsFindForm,
    PacsImportForm,
    RecistDateForm,
    RecistLesionFormSet,
    UploadForm,
)
from oncology_ui.imaging.models import (
    RESEARCH_USE,
    ImagingSeries,
    ImagingUpload,
    QuarantinedInstance,
    RecistAssessment,
)
from oncology_ui.patients.access import case_for_user

logger = logging.getLogger(__name__)
A = AccessLog.Action
VIEW_PERMISSION = "imaging.view_imagingseries"


def _upload_for_user(request: AuthedRequest, upload_id: int) -> ImagingUpload:
    return ImagingUpload.objects.select_related("case__patient", "job").visible_or_denied(
        request,
        upload_id,
        permission="imaging.view_imagingupload",
        category="imaging-upload",
        kind="upload",
    )


def _series_for_user(request: AuthedRequest, series_id: int) -> ImagingSeries:
    return ImagingSeries.objects.select_related("study__case__patient").visible_or_denied(
        request, series_id, permission=VIEW_PERMISSION, category="imaging", kind="series"
    )


def _held_for_user(request: AuthedRequest, held_id: int, permission: str) -> QuarantinedInstance:
    return QuarantinedInstance.objects.select_related("case__patient").visible_or_denied(
        request, held_id, permission=permission, category="imaging-review", kind="held"
    )


# --- upload ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def upload_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Upload a study as a zip or as many DICOM files; the ingest runs in the background."""
    case = case_for_user(request, case_id, permission="imaging.add_imagingupload")
    conf = imaging_settings()
    context: dict[str, Any] = {
        "case": case,
        "patient": case.patient,
        "limit_mb": conf.max_upload_bytes // 1_048_576,
        "max_files": conf.max_files,
        "uploads": ImagingUpload.objects.filter(case=case).select_related("job")[:10],
    }
    status = 200
    form = UploadForm()
    if request.method == "POST":
        if content_length(request) > conf.max_upload_bytes + 1_048_576:
            # Refused before the body is read, so an oversized upload is never spooled to disk.
            return render(
                request,
                "imaging/upload_page.html",
                {**context, "form": form, "too_large": True},
                status=413,
            )
        try:
            form = UploadForm(request.POST, request.FILES)
            valid = form.is_valid()
        except SuspiciousOperation:  # TooManyFilesSent: more files than Django accepts per request
            form = UploadForm()
            context["upload_error"] = "Too many files in one request: send the study as a zip."
            valid = False
        if valid:
            try:
                upload = services.upload_receive(
                    case=case, user=request.user, files=form.cleaned_data["dicom"]
                )
            except ValidationError as exc:
                form.add_error("dicom", exc.messages)
            else:
                return ingest_received_response(
                    request,
                    upload,
                    patient_id=case.patient_id,
                    category="imaging-upload",
                    object_ref=f"upload:{upload.pk}",
                    message="Study received; it is de-identified and indexed now.",
                )
        status = 400
    return render(request, "imaging/upload_page.html", {**context, "form": form}, status=status)


@passive
@login_required
@require_GET
def upload_detail(request: AuthedRequest, upload_id: int) -> HttpResponse:
    """The upload's status and problems; as an htmx partial it polls itself until finished."""
    upload = _upload_for_user(request, upload_id)
    if not request.htmx:  # the page is audited once, not every poll of its status line
        audit_case(
            request=request,
            action=A.VIEW,
            category="imaging-upload",
            case=upload.case,
            object_ref=f"upload:{upload.pk}",
        )
    context = {"upload": upload, "case": upload.case, "patient": upload.case.patient}
    return ingest_status_response(
        request, upload, page="imaging/upload_detail.html", context=context
    )


# --- PACS --------------------------------------------------------------------------------------

UPLOAD_PERMISSION = "imaging.add_imagingupload"


@login_required
@require_GET
def pacs_find(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Find the patient's studies in the PACS by MRN (and accession); each query is audited.

    A PACS that is down, slow or refuses our credentials gives a message on the page, never an
    error page; htmx gets just the results partial.
    """
    case = case_for_user(request, case_id, permission=UPLOAD_PERMISSION)
    connections = pacs_connections()
    form = PacsFindForm(request.GET or None, connections=connections)
    context: dict[str, Any] = {
        "case": case,
        "patient": case.patient,
        "form": form,
        "configured": bool(connections),
        "connection": connections[0].key if connections else "",
        "studies": None,
        "pacs_error": "",
        "limit": pacs.MAX_STUDIES_LISTED,
    }
    if "find" in request.GET and not form.is_valid():
        context["pacs_error"] = " ".join(str(e) for errors in form.errors.values() for e in errors)
    elif "find" in request.GET:
        context["connection"] = form.cleaned_data["connection"] or context["connection"]
        context["studies"], context["pacs_error"] = pacs.pacs_query_audited(
            request,
            lambda: pacs.pacs_studies_find(
                case=case,
                accession=form.cleaned_data["accession"],
                connection=context["connection"],
            ),
            category="imaging-pacs",
            case=case,
        )
    if request.htmx:
        return render(request, "imaging/pacs.html#pacs-results", context)
    return render(request, "imaging/pacs.html", context)


@login_required
@require_POST
def pacs_import(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Import a study from the PACS: its retrieval and ingest run as a job (audited here)."""
    case = case_for_user(request, case_id, permission=UPLOAD_PERMISSION)
    form = PacsImportForm(request.POST)
    error = "Choose a study to import."
    if form.is_valid():
        try:
            upload = pacs.pacs_import_request(
                case=case,
                user=request.user,
                study_uid=form.cleaned_data["study_uid"],
                connection=form.cleaned_data["connection"],
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return ingest_received_response(
                request,
                upload,
                patient_id=case.patient_id,
                category="imaging-pacs",
                object_ref=f"upload:{upload.pk}",
                message="Import started: the study is retrieved from the PACS, then "
                "de-identified and indexed.",
            )
    return ingest_refused_response(request, error, back=reverse("imaging-pacs", args=[case.pk]))


# --- viewer ------------------------------------------------------------------------------------


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


def _view_state(request: AuthedRequest, series: ImagingSeries) -> dict[str, Any]:
    """The viewer's state from the query string; anything malformed falls back to a default."""
    axis = request.GET.get("axis", "axial")
    if axis not in selectors.AXES:
        axis = "axial"
    length = selectors.axis_length(series, axis)  # type: ignore[arg-type]
    windows = selectors.window_choices(series)
    window = request.GET.get("window", "")
    if window not in {w for w, _ in windows}:
        window = selectors.default_window(series)
    regions = list(series.regions.all())
    default_index = regions[0].key_slice if regions and axis == "axial" else length // 2
    index = min(max(_int(request.GET.get("index"), default_index), 0), max(length - 1, 0))
    partner = selectors.fusion_partner(series)
    fusion = partner is not None and request.GET.get("fusion", "1") == "1"
    contours = request.GET.get("contours", "1") == "1"
    return {
        "axis": axis,
        "index": index,
        "length": length,
        "last": max(length - 1, 0),
        "window": window,
        "windows": windows,
        "fusion": fusion,
        "fusion_partner": partner,
        "contours": contours,
        "regions": regions,
        "axes": selectors.AXES,
    }


def _links(series: ImagingSeries, state: dict[str, Any]) -> dict[str, Any]:
    """Every viewer control as a plain URL (links work without JavaScript; htmx swaps them)."""
    base = {
        "axis": state["axis"],
        "index": state["index"],
        "window": state["window"],
        "contours": "1" if state["contours"] else "0",
        "fusion": "1" if state["fusion"] else "0",
    }
    page = reverse("imaging-viewer", args=[series.pk])

    def url(target: str = page, **changes: Any) -> str:
        return f"{target}?{urlencode({**base, **changes})}"

    return {
        "slice_src": url(reverse("imaging-slice", args=[series.pk])),
        "slice_base": reverse("imaging-slice", args=[series.pk]),
        "axes": [(a, url(axis=a, index="")) for a in selectors.AXES],
        "windows": [(w, label, url(window=w)) for w, label in state["windows"]],
        "prev": url(index=max(state["index"] - 1, 0)),
        "next": url(index=min(state["index"] + 1, state["last"])),
        "contours": url(contours="0" if state["contours"] else "1"),
        "fusion": url(fusion="0" if state["fusion"] else "1"),
    }


@login_required
@require_GET
def viewer(request: AuthedRequest, series_id: int) -> HttpResponse:
    """The series viewer; one audit row per opening (the htmx swaps and slices are not logged)."""
    series = _series_for_user(request, series_id)
    if not series.has_volume:
        messages.info(request, "This series has no image volume to show (a structure set or SEG).")
        return redirect("patients-case", case_id=series.study.case_id)
    state = _view_state(request, series)
    context = {
        "series": series,
        "case": series.study.case,
        "patient": series.study.case.patient,
        "research_use": RESEARCH_USE,
        "siblings": ImagingSeries.objects.filter(study=series.study, has_volume=True),
        "links": _links(series, state),
        **state,
    }
    if request.htmx:
        return render(request, "imaging/viewer.html#viewer-panel", context)
    audit_case(
        request=request,
        action=A.VIEW,
        category="imaging",
        case=series.study.case,
        object_ref=f"series:{series.pk}",
    )
    return render(request, "imaging/viewer.html", context)


# Not @passive: scrolling through slices is a person at work and keeps the session alive.
@login_required
@require_GET
def slice_png(request: AuthedRequest, series_id: int) -> HttpResponse:
    """One rendered slice (access-checked; audited once per viewer opening, not per slice)."""
    series = _series_for_user(request, series_id)
    if not series.has_volume:
        return HttpResponse(
            "This series has no image volume.", status=404, content_type="text/plain"
        )
    state = _view_state(request, series)
    try:
        rendered = selectors.slice_render(
            series,
            axis=state["axis"],
            index=state["index"],
            window=state["window"],
            contours=state["contours"],
            fusion=state["fusion_partner"] if state["fusion"] else None,
        )
    except (RenderError, OSError, ValueError) as exc:
        logger.warning("slice of series %s not rendered: %s", series.pk, exc)
        return HttpResponse(
            f"This view cannot be drawn: {exc}", status=422, content_type="text/plain"
        )
    response = HttpResponse(rendered.png, content_type="image/png")
    # De-identified pixels with no burned-in text (such images are held back at ingest): the
    # user's own browser may keep them, so scrolling back over a series costs no new renders.
    response["Cache-Control"] = "private, max-age=600"
    return response


# --- pixel review ------------------------------------------------------------------------------


def _audit_held(
    request: AuthedRequest, action: str, held: QuarantinedInstance, *, decision: str = ""
) -> None:
    """Audit a look at or a decision on an image held for pixel review."""
    ref = f"held:{held.pk}:{decision}" if decision else f"held:{held.pk}"
    audit_case(
        request=request, action=action, category="imaging-review", case=held.case, object_ref=ref
    )


@login_required
@require_GET
def held_preview(request: AuthedRequest, held_id: int) -> HttpResponse:
    """The held image, so the reviewer can look for burned-in text (rendered in the sandbox)."""
    held = _held_for_user(request, held_id, "imaging.change_quarantinedinstance")
    _audit_held(request, A.VIEW, held)
    try:
        png = held_images.held_preview(instance=held)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=422, content_type="text/plain")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def held_review(request: AuthedRequest, held_id: int) -> HttpResponse:
    """Release (ingest) or discard a file held for pixel review."""
    held = _held_for_user(request, held_id, "imaging.change_quarantinedinstance")
    decision = request.POST.get("decision", "")
    try:
        if decision == "release":
            held_images.held_release(instance=held, user=request.user)
            messages.info(request, "Released: the image is being added to the case.")
        elif decision == "discard":
            held_images.held_discard(instance=held, user=request.user)
            messages.info(request, "Discarded: the held image was deleted.")
        else:
            messages.error(request, "Choose release or discard.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _audit_held(request, A.UPDATE, held, decision=decision)
    return redirect(f"{reverse('patients-case', args=[held.case_id])}#section-imaging")


# --- RECIST ------------------------------------------------------------------------------------


def _region_choices(case: Any) -> tuple[list[tuple[int, str]], dict[int, Any]]:
    regions = selectors.case_regions(case)
    choices = [
        (
            r.pk,
            f"{r.name} · {r.series.modality} {r.series.study.study_date or ''} · "
            f"{r.longest_diameter_mm or 0:.1f} mm",
        )
        for r in regions
    ]
    return choices, {r.pk: r for r in regions}


def _lesions(formset: Any, regions: dict[int, Any]) -> list[dict[str, Any]]:
    lesions = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or not data.get("lesion_id"):
            continue
        diameter = data.get("diameter_mm")
        region = regions.get(data.get("region")) if data.get("region") else None
        if diameter is None and region is not None and data["kind"] == "target":
            diameter = (
                region.perpendicular_mm if data.get("is_lymph_node") else region.longest_diameter_mm
            )
        lesions.append(
            {
                "lesion_id": data["lesion_id"].strip(),
                "kind": data["kind"],
                "diameter_mm": round(diameter, 1) if diameter is not None else None,
                "is_lymph_node": bool(data.get("is_lymph_node")),
                "status": data.get("status") or "present",
                "organ": (data.get("organ") or "").strip(),
                "region_id": region.pk if region is not None else None,
            }
        )
    return lesions


def _initial_lesions(case: Any) -> list[dict[str, Any]]:
    """Start a follow-up from the baseline's lesions (same ids), a baseline from empty rows."""
    baseline = RecistAssessment.objects.filter(case=case).order_by("date").first()
    rows: list[dict[str, Any]] = []
    if baseline is not None:
        rows = [
            {
                "lesion_id": les["lesion_id"],
                "kind": les["kind"],
                "organ": les.get("organ", ""),
                "is_lymph_node": les.get("is_lymph_node", False),
            }
            for les in baseline.lesions
            if les["kind"] != "new"
        ]
    return rows + [{} for _ in range(max(0, 6 - len(rows)))]


@login_required
@require_http_methods(["GET", "POST"])
def recist_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    """RECIST 1.1 time points of the case; a follow-up becomes a response-assessment event."""
    case = case_for_user(request, case_id, permission="imaging.view_recistassessment")
    can_record = request.user.has_perm("imaging.add_recistassessment") and request.user.has_perm(
        "patients.add_timelineevent"
    )
    choices, regions = _region_choices(case)
    date_form = RecistDateForm(request.POST or None)
    formset = RecistLesionFormSet(
        request.POST or None, regions=choices, initial=_initial_lesions(case), prefix="lesion"
    )
    status = 200
    if request.method == "POST":
        if not can_record:
            raise access_denied(request, category="recist", object_ref=f"case:{case.pk}")
        if date_form.is_valid() and formset.is_valid():
            try:
                row = recist.recist_record(
                    case=case,
                    user=request.user,
                    date=date_form.cleaned_data["date"],
                    lesions=_lesions(formset, regions),
                )
            except ValidationError as exc:
                date_form.add_error(None, exc.messages)
            else:
                audit_case(
                    request=request,
                    action=A.CREATE,
                    category="recist",
                    case=case,
                    object_ref=f"recist:{row.pk}",
                )
                messages.info(
                    request,
                    f"Time point recorded: {row.overall}." if row.overall else "Baseline recorded.",
                )
                return redirect("imaging-recist", case_id=case.pk)
        status = 400
    else:
        audit_case(request=request, action=A.VIEW, category="recist", case=case)
    context = {
        "case": case,
        "patient": case.patient,
        "date_form": date_form,
        "formset": formset,
        "timepoints": RecistAssessment.objects.filter(case=case).order_by("date"),
        "regions": list(regions.values()),
        "can_record": can_record,
        "research_use": RESEARCH_USE,
        "pacs_targets": [c for c in pacs_connections() if c.transport == "dicomweb"]
        if can_record
        else [],
    }
    return render(request, "imaging/recist.html", context, status=status)


@login_required
@require_POST
def recist_to_pacs(request: AuthedRequest, case_id: int, assessment_id: int) -> HttpResponse:
    """Send a time point to the PACS as DICOM SR and SEG: a job, audited here and by the job."""
    case = case_for_user(request, case_id, permission="imaging.add_recistassessment")
    assessment = RecistAssessment.objects.filter(case=case, pk=assessment_id).first()
    if assessment is None:
        raise access_denied(request, category="recist", object_ref=f"recist:{assessment_id}")
    try:
        job = pacs_results.pacs_results_request(
            assessment=assessment,
            user=request.user,
            connection=str(request.POST.get("connection", ""))[:12],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        outcome = AccessLog.Outcome.FAILURE
    else:
        messages.info(
            request,
            f"Sending the {assessment.date:%d %b %Y} time point to the PACS as DICOM SR and SEG "
            f"(job {job.pk}).",
        )
        outcome = AccessLog.Outcome.SUCCESS
    audit_record(
        request=request,
        action=A.EXPORT,
        category="imaging-pacs-store",
        patient_id=case.patient_id,
        object_ref=f"recist:{assessment.pk}",
        outcome=outcome,
    )
    return redirect("imaging-recist", case_id=case.pk)
