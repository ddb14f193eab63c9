"""Slide upload (chunked and plain), the viewer page, its tiles and overlays, retirement.

Every slide URL checks the team and the role through :func:`_slide_for_user`: another team's
slide answers 404 and writes one ``denied`` audit row. Opening the viewer is audited once;
tiles, overlays and thumbnails are not (one view of a slide loads hundreds of them).
"""

from __future__ import annotations

import numpy as np
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inference.slides.errors import RegionOutOfBounds
from oncology_ui.core.audit import audit_case
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.ingest import content_length
from oncology_ui.core.models import AccessLog
from oncology_ui.imaging.conf import pacs_settings
from oncology_ui.pathology import selectors, services, tiles
from oncology_ui.pathology.conf import pathology_settings
from oncology_ui.pathology.forms import DicomFilesForm, SlideUploadForm
from oncology_ui.pathology.models import Slide, SlideUpload
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.models import Case

A = AccessLog.Action
VIEW, ADD, DELETE = "pathology.view_slide", "pathology.add_slide", "pathology.delete_slide"


def _slide_for_user(request: HttpRequest, slide_id: int, *, permission: str = VIEW) -> Slide:
    """The slide if its case is in the user's teams and the role allows; else 404 + audit."""
    return Slide.objects.select_related("case__patient", "job").visible_or_denied(
        request, slide_id, permission=permission, category="slide", kind="slide"
    )


def _audit_slide(request: HttpRequest, action: str, slide: Slide, *, case: Case) -> None:
    audit_case(
        request=request, action=action, category="slide", case=case, object_ref=f"slide:{slide.pk}"
    )


def _ready_slide(request: HttpRequest, slide_id: int) -> Slide:
    slide = _slide_for_user(request, slide_id)
    if not slide.is_ready:
        raise Http404("This slide has no viewable image.")
    return slide


def _upload_for_user(request: HttpRequest, upload_id: int) -> SlideUpload:
    """An unfinished upload of this user on a case of their teams; else 404 + audit."""
    mine = SlideUpload.objects.select_related("case").filter(created_by_id=request.user.pk)
    return mine.visible_or_denied(
        request, upload_id, permission=ADD, category="slide-upload", kind="upload"
    )


def _upload_json(upload: SlideUpload) -> dict[str, object]:
    return {
        "id": upload.pk,
        "name": upload.original_name,
        "size": upload.size,
        "received": upload.received,
        "chunk": reverse("pathology-upload-chunk", args=[upload.pk]),
        "finish": reverse("pathology-upload-finish", args=[upload.pk]),
        "cancel": reverse("pathology-upload-cancel", args=[upload.pk]),
    }


def _error(message: str, status: int, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


# ------------------------------------------------------------------------------------------
# Upload


@csrf_exempt  # only so the size check below runs before anything reads the body
@login_required
@require_http_methods(["GET", "POST"])
def slide_upload(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Upload page: the chunked uploader, and a plain form that works without JavaScript.

    An oversized plain upload is refused from its ``Content-Length`` before the body is read
    (the CSRF check would otherwise parse the whole multipart body first); the form itself is
    handled by :func:`_slide_upload_form`, which enforces CSRF.
    """
    case = case_for_user(request, case_id, permission=ADD)
    too_large = _refuse_oversized(request, case)
    return too_large or _slide_upload_form(request, case)


def _refuse_oversized(request: AuthedRequest, case: Case) -> HttpResponse | None:
    """A 413 page for a POST whose ``Content-Length`` is over the limit; else ``None``."""
    conf = pathology_settings()
    if request.method != "POST" or content_length(request) <= conf.max_upload_bytes + 64 * 1024:
        return None
    context = _upload_context(case)
    context.update({"form": SlideUploadForm(), "too_large": True})
    response = render(request, "pathology/upload_page.html", context, status=413)
    response["Connection"] = "close"
    return response


@csrf_exempt  # only so the size check runs before anything reads the body (see slide_upload)
@login_required
@require_POST
def slide_upload_dicom(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The files of one DICOM whole-slide image, sent together by the plain form."""
    case = case_for_user(request, case_id, permission=ADD)
    too_large = _refuse_oversized(request, case)
    return too_large or _slide_upload_dicom_form(request, case)


@csrf_protect
def _slide_upload_dicom_form(request: AuthedRequest, case: Case) -> HttpResponse:
    context = _upload_context(case)
    form = DicomFilesForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            slide = services.slide_receive_dicom_files(
                case=case, user=request.user, uploads=form.cleaned_data["dicom_files"]
            )
        except ValidationError as exc:
            form.add_error("dicom_files", exc.messages)
        else:
            return _slide_received(request, slide, case)
    context.update({"form": SlideUploadForm(), "dicom_form": form})
    return render(request, "pathology/upload_page.html", context, status=400)


def _slide_received(request: AuthedRequest, slide: Slide, case: Case) -> HttpResponse:
    """Audit the new slide and go back to the case's pathology section."""
    _audit_slide(request, A.CREATE, slide, case=case)
    messages.info(request, "Slide received; it is being processed in the background.")
    return redirect(reverse("patients-case", args=[case.pk]) + "#section-pathology")


def _upload_context(case: Case) -> dict[str, object]:
    conf = pathology_settings()
    return {
        "case": case,
        "patient": case.patient,
        "limit_mb": conf.max_upload_bytes // 2**20,
        "chunk_bytes": conf.chunk_bytes,
        "dicom_form": DicomFilesForm(),
        "pacs_configured": pacs_settings() is not None,
    }


@csrf_protect
def _slide_upload_form(request: AuthedRequest, case: Case) -> HttpResponse:
    context = _upload_context(case)
    form = SlideUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            slide = services.slide_receive_file(
                case=case, user=request.user, upload=upload, name=upload.name or "slide"
            )
        except ValidationError as exc:
            form.add_error("file", exc.messages)
        else:
            return _slide_received(request, slide, case)
    context["form"] = form
    return render(
        request, "pathology/upload_page.html", context, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def upload_sessions(request: AuthedRequest, case_id: int) -> JsonResponse:
    """GET: this user's unfinished uploads for the case (to resume); POST: start one."""
    case = case_for_user(request, case_id, permission=ADD)
    if request.method == "GET":
        pending = SlideUpload.objects.filter(case=case, created_by=request.user)
        return JsonResponse({"uploads": [_upload_json(u) for u in pending]})
    try:
        size = int(request.POST.get("size", ""))
    except ValueError:
        return _error("The file size is missing.", 400)
    try:
        upload = services.upload_start(
            case=case, user=request.user, name=request.POST.get("name", ""), size=size
        )
    except ValidationError as exc:
        return _error(" ".join(exc.messages), 413 if size > 0 else 400)
    return JsonResponse(_upload_json(upload), status=201)


@login_required
@require_POST
def upload_chunk(request: AuthedRequest, upload_id: int) -> JsonResponse:
    """Append the raw request body at the offset in ``X-Upload-Offset``."""
    upload = _upload_for_user(request, upload_id)
    length = content_length(request)
    if length > pathology_settings().chunk_bytes:
        return _error("The chunk is larger than allowed.", 413)
    try:
        offset = int(request.headers.get("X-Upload-Offset", ""))
    except ValueError:
        return _error("The chunk has no offset.", 400, received=upload.received)
    try:
        upload = services.upload_append(upload=upload, offset=offset, stream=request, length=length)
    except services.UploadOffsetMismatch as exc:
        return _error(str(exc).capitalize() + ".", 409, received=exc.expected)
    except ValidationError as exc:
        gone = not SlideUpload.objects.filter(pk=upload_id).exists()
        return _error(" ".join(exc.messages), 415 if gone else 400, discarded=gone)
    return JsonResponse({"received": upload.received, "size": upload.size})


@login_required
@require_POST
def upload_finish(request: AuthedRequest, upload_id: int) -> JsonResponse:
    upload = _upload_for_user(request, upload_id)
    case = upload.case
    try:
        slide = services.upload_complete(upload=upload, user=request.user)
    except ValidationError as exc:
        return _error(" ".join(exc.messages), 400)
    _audit_slide(request, A.CREATE, slide, case=case)
    return JsonResponse(
        {
            "slide": slide.pk,
            "case_url": reverse("patients-case", args=[case.pk]) + "#section-pathology",
        },
        status=201,
    )


@login_required
@require_POST
def upload_cancel(request: AuthedRequest, upload_id: int) -> JsonResponse:
    upload = _upload_for_user(request, upload_id)
    services.upload_discard(upload=upload)
    return JsonResponse({"cancelled": upload_id})


# ------------------------------------------------------------------------------------------
# Viewer


@login_required
@require_GET
def slide_viewer(request: AuthedRequest, slide_id: int) -> HttpResponse:
    """The deep-zoom viewer with scale bar, tissue outline, QC and heatmaps."""
    slide = _slide_for_user(request, slide_id)
    _audit_slide(request, A.VIEW, slide, case=slide.case)
    attention = selectors.slide_attention(slide) if slide.is_ready else None
    features = selectors.heatmap_features(slide)
    heatmaps = [
        {"url": reverse("pathology-heatmap", args=[slide.pk]) + f"?feature={f['name']}", **f}
        for f in features
    ]
    if attention is not None and attention.prediction_id is not None:
        heatmaps.insert(
            0,
            {
                "url": reverse("pathology-heatmap", args=[slide.pk]) + "?source=attention",
                "name": "attention",
                "label": f"Model attention ({attention.model})",
            },
        )
    return render(
        request,
        "pathology/viewer.html",
        {
            "slide": slide,
            "case": slide.case,
            "patient": slide.case.patient,
            "attention": attention,
            "heatmaps": heatmaps,
            "can_delete": request.user.has_perm(DELETE),
        },
    )


def _etag(slide: Slide, *parts: object) -> str:
    return '"' + "-".join([slide.derivative_sha256[:20], *map(str, parts)]) + '"'


def _image(request: HttpRequest, data: bytes, content_type: str, etag: str) -> HttpResponse:
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type=content_type)
    # Private: de-identified pixels of a patient; the browser may keep them, shared caches not.
    response["Cache-Control"] = "private, max-age=3600"
    response["ETag"] = etag
    return response


@login_required
@require_GET
def slide_dzi(request: AuthedRequest, slide_id: int) -> HttpResponse:
    slide = _ready_slide(request, slide_id)
    xml = tiles.dzi_xml(services.media_path(slide.derivative_path), slide.derivative_sha256)
    return _image(request, xml.encode(), "application/xml", _etag(slide, "dzi"))


@login_required
@require_GET
def slide_tile(
    request: AuthedRequest, slide_id: int, level: int, col: int, row: int
) -> HttpResponse:
    slide = _ready_slide(request, slide_id)
    etag = _etag(slide, level, col, row)
    if request.headers.get("If-None-Match") == etag:
        return _image(request, b"", "image/jpeg", etag)
    try:
        data = tiles.tile_jpeg(
            services.media_path(slide.derivative_path), slide.derivative_sha256, level, col, row
        )
    except RegionOutOfBounds:
        raise Http404("No such tile") from None
    return _image(request, data, "image/jpeg", etag)


def _stored_png(request: HttpRequest, slide: Slide, relative: str, name: str) -> HttpResponse:
    if not relative:
        raise Http404("Not available")
    path = services.media_path(relative)
    if not path.exists():
        raise Http404("Not available")
    return _image(request, path.read_bytes(), "image/png", _etag(slide, name))


@login_required
@require_GET
def slide_thumbnail(request: AuthedRequest, slide_id: int) -> HttpResponse:
    slide = _ready_slide(request, slide_id)
    return _stored_png(request, slide, slide.thumbnail_path, "thumb")


@login_required
@require_GET
def slide_tissue(request: AuthedRequest, slide_id: int) -> HttpResponse:
    slide = _ready_slide(request, slide_id)
    return _stored_png(request, slide, slide.tissue_path, "tissue")


@login_required
@require_GET
def slide_heatmap(request: AuthedRequest, slide_id: int) -> HttpResponse:
    """Per-tile scores as a transparent PNG over the whole slide (``?feature=`` or attention)."""
    from inference.slides.features import FeaturesFileError, load_tile_features
    from inference.slides.viewer import encode_png, render_heatmap

    slide = _ready_slide(request, slide_id)
    width, height = int(slide.width or 1), int(slide.height or 1)
    scale = 1024 / max(width, height)
    overlay = (max(1, round(width * scale)), max(1, round(height * scale)))
    try:
        features = load_tile_features(services.media_path(slide.features_path))
    except (FeaturesFileError, ValueError):
        raise Http404("The tile features of this slide cannot be read.") from None
    if request.GET.get("source") == "attention":
        attention = selectors.slide_attention(slide)
        if attention.prediction_id is None:
            raise Http404(attention.reason)
        coords = np.asarray(attention.coords, dtype=np.int64)
        scores = np.asarray(attention.weights, dtype=np.float64)
        tag = f"att{attention.prediction_id}"
    else:
        name = request.GET.get("feature", "")
        if name not in features.feature_names:
            raise Http404("No such tile feature.")
        coords = features.coords
        scores = features.features[:, features.feature_names.index(name)].astype(np.float64)
        tag = name
    # Robust colour range: one outlier tile must not wash out the rest of the map.
    finite = scores[np.isfinite(scores)]
    value_range = None
    if finite.size:
        lo, hi = np.percentile(finite, [2, 98])
        value_range = (float(lo), float(hi)) if hi > lo else None
    png = encode_png(
        render_heatmap(
            coords,
            scores,
            level0_tile_size=features.level0_tile_size,
            slide_size=(width, height),
            overlay_size=overlay,
            value_range=value_range,
            opacity=1.0,
        )
    )
    return _image(request, png, "image/png", _etag(slide, "heat", tag))


@login_required
@require_POST
def slide_retire(request: AuthedRequest, slide_id: int) -> HttpResponse:
    """Remove a slide from the case page and from future model inputs (audited)."""
    slide = _slide_for_user(request, slide_id, permission=DELETE)
    try:
        services.slide_retire(slide=slide, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if slide.derivative_sha256:
            tiles.forget(slide.derivative_sha256)
        _audit_slide(request, A.DELETE, slide, case=slide.case)
        messages.info(request, "The slide was removed from the case.")
    return redirect(reverse("patients-case", args=[slide.case_id]) + "#section-pathology")
