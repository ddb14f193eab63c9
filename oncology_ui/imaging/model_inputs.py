"""The imaging part of the analysis snapshot, and the imaging section of the case report.

Snapshot: the most recent study with measured regions, as numbers with units and provenance
(row references, never UIDs, names or pixels). ``to_inputs`` keeps the numbers only, as
:class:`inference.schema.ImagingMeasurements` expects.
"""

from __future__ import annotations

import logging
from typing import Any

from inference.imaging.render import WINDOWS, RenderError, render_slice
from inference.schema import ImagingMeasurements
from oncology_ui.analysis.adapters import SnapshotPart
from oncology_ui.imaging.models import RESEARCH_USE, ImagingRegion, ImagingStudy
from oncology_ui.imaging.selectors import series_volume
from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection

logger = logging.getLogger(__name__)
NO_REGION = "Not available: no contoured lesion (RTSTRUCT or SEG) is stored for this case."


def _numbers(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "values": {m["name"]: m["value"] for m in measurements},
        "units": {m["name"]: m["unit"] for m in measurements},
        "provenance": {m["name"]: m["provenance"] for m in measurements},
    }


def _latest_measured_study(case: Case) -> ImagingStudy | None:
    return (
        ImagingStudy.objects.filter(case=case, series__regions__isnull=False)
        .order_by("-study_date", "-id")
        .distinct()
        .first()
    )


def imaging_snapshot(case: Case) -> dict[str, Any] | None:
    """JSON numbers of the latest measured study; None when the case has none."""
    study = _latest_measured_study(case)
    if study is None:
        return None
    regions = ImagingRegion.objects.filter(series__study=study).select_related("series")
    return {
        "study_ref": f"imaging-study:{study.pk}",
        "study_date": study.study_date.isoformat() if study.study_date else None,
        "feature_version": study.features.get("feature_version", ""),
        "research_use_only": True,
        "lesions": [
            {
                "ref": f"imaging-region:{r.pk}",
                "modality": r.series.modality,
                "source": r.source,
                **_numbers(r.measurements),
            }
            for r in regions
        ],
        "study": _numbers(study.features.get("measurements", [])),
    }


def imaging_inputs(snapshot: dict[str, Any]) -> ImagingMeasurements:
    return ImagingMeasurements(
        lesions=tuple(dict(lesion["values"]) for lesion in snapshot.get("lesions", ())),
        study=dict(snapshot.get("study", {}).get("values", {})),
    )


IMAGING_SNAPSHOT_PART = SnapshotPart(build=imaging_snapshot, to_inputs=imaging_inputs)


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
