"""The slide section of the case report: the thumbnail of the case's first ready slide."""

from __future__ import annotations

from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection


def slide_report_section(case: Case, deidentified: bool) -> OptionalSection:
    """Thumbnail with its QC and summary, or the "not available" line without one.

    The thumbnail comes from the de-identified derivative, so it is the same in identified and
    de-identified reports.
    """
    from oncology_ui.pathology.services import media_path

    slides = list(Slide.objects.filter(case=case, status=Slide.Status.READY).order_by("pk"))
    for slide in slides:
        try:
            png = media_path(slide.thumbnail_path).read_bytes()
        except (OSError, ValueError):
            continue
        mpp = f"{slide.mpp:.3g} µm/px" if slide.mpp else "µm/px not recorded"
        area = f"{slide.tissue_area_mm2:.1f} mm² tissue" if slide.tissue_area_mm2 else ""
        lines = [
            f"{len(slides)} slide(s) ready. Shown: slide {slide.pk}, "
            f"{slide.get_stain_guess_display()} (stain guessed from colour), {mpp}, "
            f"{slide.width} x {slide.height} px.",
            f"Quality control: {slide.qc_state or 'not assessed'}"
            + (f" ({'; '.join(slide.qc_messages)})" if slide.qc_messages else "")
            + (f"; {area}" if area else "")
            + f"; {slide.tile_count or 0} tissue tiles.",
            "Research use only: image-derived output, not for diagnosis.",
        ]
        return OptionalSection(
            title="Slide thumbnail",
            lines=tuple(lines),
            image_png=png,
            image_caption=f"Slide {slide.pk} (de-identified derivative). Research use only.",
        )
    return OptionalSection(
        title="Slide thumbnail",
        unavailable="Not available: no processed pathology slide is stored for this case.",
    )
