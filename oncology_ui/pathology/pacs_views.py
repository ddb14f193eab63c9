"""Import a slide from the PACS: find the patient's slide series, import one as a job.

Every query is audited with the patient (``slide-pacs``); the import request is audited here and
the retrieve by the job. A PACS that is down, slow or refuses the credentials gives a message on
the page, never an error page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.ingest import ingest_received_response, ingest_refused_response
from oncology_ui.imaging.conf import pacs_settings
from oncology_ui.imaging.pacs import pacs_query_audited
from oncology_ui.pathology import pacs
from oncology_ui.patients.access import case_for_user

ADD = "pathology.add_slide"
CATEGORY = "slide-pacs"


@login_required
@require_GET
def slide_pacs(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The page; with ``?find=1`` the patient's slide series in the PACS (audited)."""
    case = case_for_user(request, case_id, permission=ADD)
    context: dict[str, Any] = {
        "case": case,
        "patient": case.patient,
        "configured": pacs_settings() is not None,
        "series": None,
        "pacs_error": "",
        "limit": pacs.MAX_SERIES_LISTED,
    }
    if "find" in request.GET:
        context["series"], context["pacs_error"] = pacs_query_audited(
            request, lambda: pacs.slide_pacs_series_find(case=case), category=CATEGORY, case=case
        )
    if request.htmx:
        return render(request, "pathology/pacs_page.html#slide-pacs-results", context)
    return render(request, "pathology/pacs_page.html", context)


@login_required
@require_POST
def slide_pacs_import(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Import one slide series: its retrieval and ingest run as the slide's job."""
    case = case_for_user(request, case_id, permission=ADD)
    try:
        slide = pacs.slide_pacs_import_request(
            case=case,
            user=request.user,
            study_uid=request.POST.get("study_uid", ""),
            series_uid=request.POST.get("series_uid", ""),
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    else:
        return ingest_received_response(
            request,
            slide,
            patient_id=case.patient_id,
            category=CATEGORY,
            object_ref=f"slide:{slide.pk}",
            message="Import started: the slide is retrieved from the PACS, then de-identified "
            "and analysed.",
        )
    return ingest_refused_response(request, error, back=reverse("pathology-pacs", args=[case.pk]))
