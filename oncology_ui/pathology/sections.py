"""The pathology section of the case page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from oncology_ui.imaging.conf import pacs_settings
from oncology_ui.pathology.conf import pathology_settings
from oncology_ui.pathology.selectors import feature_label, slides_for_case
from oncology_ui.patients.models import Case

#: Feature summaries shown on the case page (the viewer offers all of them as heatmaps).
SUMMARY_FEATURES = ("nuclei_per_mm2", "nuclear_area_fraction", "hematoxylin_share")


def pathology_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    slides = slides_for_case(case)
    for slide in slides:
        slide.summary_rows = [  # type: ignore[attr-defined]
            {"label": feature_label(entry["name"]), **entry}
            for entry in slide.feature_summary
            if entry["name"] in SUMMARY_FEATURES
        ]
    ready = [slide for slide in slides if slide.is_ready]
    areas = [slide.tissue_area_mm2 for slide in ready if slide.tissue_area_mm2 is not None]
    qc_counts = {
        state: sum(1 for slide in ready if slide.qc_state == state)
        for state in ("pass", "warn", "fail")
    }
    return {
        "slides": slides,
        "slides_summary": {
            "ready": len(ready),
            "tiles": sum(slide.tile_count or 0 for slide in ready),
            "tissue_mm2": sum(areas) if areas else None,
            "area_incomplete": len(areas) < len(ready),
            "qc": {state: n for state, n in qc_counts.items() if n},
        },
        "slides_pending": any(slide.is_pending for slide in slides),
        "can_upload_slide": request.user.has_perm("pathology.add_slide"),
        "can_view_slide": request.user.has_perm("pathology.view_slide"),
        "can_delete_slide": request.user.has_perm("pathology.delete_slide"),
        "slide_limit_mb": pathology_settings().max_upload_bytes // 2**20,
        "slide_pacs_configured": pacs_settings() is not None,
    }
