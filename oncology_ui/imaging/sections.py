"""The imaging section of the case page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from oncology_ui.imaging.connections import pacs_connections
from oncology_ui.imaging.selectors import imaging_overview
from oncology_ui.patients.models import Case


def imaging_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    overview = imaging_overview(case)
    can_upload = request.user.has_perm("imaging.add_imagingupload")
    # The PACS connections in the admin: one query, only for those who may import.
    connections = pacs_connections() if can_upload else []
    return {
        "imaging": overview,
        "imaging_busy": any(not u.is_finished for u in overview.uploads),
        "can_upload_imaging": can_upload,
        "pacs_configured": bool(connections),
        "pacs_connections": connections,
        "can_review_imaging": request.user.has_perm("imaging.change_quarantinedinstance"),
        "can_view_recist": request.user.has_perm("imaging.view_recistassessment"),
    }
