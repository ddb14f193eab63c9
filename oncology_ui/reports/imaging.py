"""The imaging section of the case report: the key slice of the largest measured lesion."""

from __future__ import annotations

import logging

from inference.imaging.render import WINDOWS, RenderError, render_slice
from oncology_ui.imaging.models import RESEARCH_USE, ImagingRegion
from oncology_ui.imaging.selectors import series_volume
from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection

logger = logging.getLogger(__name__)
NO_REGION = "Not available: no contoured lesion (RTSTRUCT or SEG) is stored for this case."


def imaging_report_section(case: Case, deidentified: bool) -> OptionalSection:
    """The key slice of the largest measured lesion with its contour, and its numbers.

    The image carries no burned-in text, so the de-identified report prints it too.
    """
    region = (
        ImagingRegion.objects.filter(series__study__case=case, series__has_volume=True)
        .exclude(series__modality="PT")
        .select_related("series__study")
        .order_by("-series__study__study_date", "-volume_ml")
        .first()
    ) or (
        ImagingRegion.objects.filter(series__study__case=case, series__has_volume=True)
        .select_related("series__study")
        .order_by("-series__study__study_date", "-volume_ml")
        .first()
    )
    if region is None:
        return OptionalSection(title="Imaging slice", unavailable=NO_REGION)
    series = region.series
    try:
        volume, masks = series_volume(series)
        window = WINDOWS["soft_tissue"] if series.modality == "CT" else WINDOWS["suv"]
        png = render_slice(
            volume, "axial", region.key_slice, window, regions=[masks[region.pk]]
        ).png
    except (RenderError, OSError, KeyError, ValueError) as exc:
        logger.warning("imaging report slice for region %s not drawn: %s", region.pk, exc)
        png = None
    date = series.study.study_date
    lines = (
        f"{region.name} on {series.modality}"
        + (f" of {date:%d %b %Y}" if date and not deidentified else ""),
        f"Volume {region.volume_ml or 0:.1f} mL; longest axial diameter "
        f"{region.longest_diameter_mm or 0:.1f} mm x {region.perpendicular_mm or 0:.1f} mm",
        f"Mean {region.mean or 0:.1f} {region.intensity_unit}, max {region.maximum or 0:.1f} "
        f"{region.intensity_unit}, peak {region.peak or 0:.1f} {region.intensity_unit}",
        RESEARCH_USE,
    )
    return OptionalSection(
        title="Imaging slice",
        lines=lines,
        image_png=png,
        image_caption=f"Axial slice {region.key_slice + 1} with the {region.source} contour "
        f"of {region.name}.",
    )
