"""The imaging part of the analysis snapshot.

Snapshot: the most recent study with measured regions, as numbers with units and provenance
(row references, never UIDs, names or pixels). ``to_inputs`` keeps the numbers only, as
:class:`inference.schema.ImagingMeasurements` expects.
"""

from __future__ import annotations

from typing import Any

from inference.schema import ImagingMeasurements
from oncology_ui.imaging.models import ImagingRegion, ImagingStudy
from oncology_ui.patients.models import Case


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
