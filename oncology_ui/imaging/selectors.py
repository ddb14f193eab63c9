"""Reads of the imaging app: the case section, the viewer's volumes and rendered slices."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from inference.imaging.render import WINDOWS, RenderError, render_slice, suv_window
from inference.imaging.schema import RegionMask, RenderedSlice, Volume, Window
from inference.imaging.store import open_mask, open_volume
from oncology_ui.imaging.conf import imaging_settings
from oncology_ui.imaging.models import (
    ImagingRegion,
    ImagingSeries,
    ImagingStudy,
    ImagingUpload,
    QuarantinedInstance,
    RecistAssessment,
)
from oncology_ui.imaging.storage import series_dir
from oncology_ui.patients.models import Case

Axis = Literal["axial", "coronal", "sagittal"]
AXES: tuple[Axis, ...] = ("axial", "coronal", "sagittal")
WINDOW_LABELS = {
    "soft_tissue": "Soft tissue",
    "lung": "Lung",
    "bone": "Bone",
    "brain": "Brain",
    "suv": "SUV 0–5",
    "suv10": "SUV 0–10",
}


STUDY_MEASURE_LABELS = {
    "lesion_count": "Lesions",
    "total_lesion_volume": "Total lesion volume",
    "largest_longest_axial_diameter": "Largest axial diameter",
    "suv_max": "SUVmax",
    "metabolic_tumour_volume": "Metabolic tumour volume",
    "total_lesion_glycolysis": "Total lesion glycolysis",
}


@dataclass(frozen=True)
class StudyView:
    """A study with its series (regions prefetched), as the section lists it."""

    study: ImagingStudy
    series: list[ImagingSeries]

    @property
    def key_measurements(self) -> list[tuple[str, str]]:
        """(label, value with unit) of the per-study numbers, in the order of features.md."""
        shown = []
        for m in self.study.features.get("measurements", []):
            if m.get("value") is None:
                continue
            label = STUDY_MEASURE_LABELS.get(m["name"], m["name"].replace("_", " "))
            if m["unit"] == "1":
                shown.append((label, f"{m['value']:.0f}"))
            else:
                shown.append((label, f"{m['value']:.1f} {m['unit']}"))
        return shown


@dataclass(frozen=True)
class ImagingOverview:
    """What the case section shows."""

    studies: list[StudyView]
    uploads: list[ImagingUpload]
    pending_review: list[QuarantinedInstance]
    latest_recist: RecistAssessment | None

    @property
    def regions(self) -> list[ImagingRegion]:
        return [r for st in self.studies for se in st.series for r in se.regions.all()]


def imaging_overview(case: Case) -> ImagingOverview:
    """Studies with series and regions, recent uploads, held files and the latest RECIST.

    Five queries whatever the number of studies: series with their study, their regions, the
    recent uploads with their jobs, the held files and the latest time point.
    """
    series = (
        ImagingSeries.objects.filter(study__case=case)
        .select_related("study")
        .defer("files", "geometry")
        .prefetch_related("regions")
        .order_by("-study__study_date", "study_id", "series_number", "id")
    )
    grouped: dict[int, StudyView] = {}
    for item in series:
        grouped.setdefault(item.study_id, StudyView(item.study, [])).series.append(item)
    uploads = list(
        ImagingUpload.objects.filter(case=case).select_related("job").order_by("-created_at")[:5]
    )
    pending = list(
        QuarantinedInstance.objects.filter(case=case, status=QuarantinedInstance.Status.PENDING)
    )
    latest = RecistAssessment.objects.filter(case=case).order_by("-date").first()
    return ImagingOverview(list(grouped.values()), uploads, pending, latest)


def case_regions(case: Case) -> list[ImagingRegion]:
    return list(
        ImagingRegion.objects.filter(series__study__case=case)
        .select_related("series__study")
        .order_by("series__study__study_date", "id")
    )


# --- volumes for the viewer --------------------------------------------------------------------


class _VolumeCache:
    """A small per-process LRU of memory-mapped volumes and masks, keyed by series id.

    Scrolling asks for many slices of the same series; opening the ``.npy`` once and mapping it
    keeps each slice request to the render itself.
    """

    def __init__(self) -> None:
        self._items: OrderedDict[int, tuple[Volume, dict[int, RegionMask]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, series: ImagingSeries) -> tuple[Volume, dict[int, RegionMask]]:
        with self._lock:
            if series.pk in self._items:
                self._items.move_to_end(series.pk)
                return self._items[series.pk]
        item = _open(series)
        with self._lock:
            self._items[series.pk] = item
            while len(self._items) > imaging_settings().viewer_cache:
                self._items.popitem(last=False)
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


VOLUME_CACHE = _VolumeCache()


def _open(series: ImagingSeries) -> tuple[Volume, dict[int, RegionMask]]:
    folder = series_dir(series)
    volume = open_volume(folder / "volume.npy", series.geometry)
    masks = {
        region.pk: open_mask(
            folder / region.mask_name, region.name, "SEG" if region.source == "SEG" else "RTSTRUCT"
        )
        for region in series.regions.all()
    }
    return volume, masks


def series_volume(series: ImagingSeries) -> tuple[Volume, dict[int, RegionMask]]:
    return VOLUME_CACHE.get(series)


def default_window(series: ImagingSeries) -> str:
    if series.modality == "PT":
        return "suv"
    if series.modality == "CT":
        return "soft_tissue"
    return "auto"


def window_choices(series: ImagingSeries) -> list[tuple[str, str]]:
    if series.modality == "PT":
        return [("suv", WINDOW_LABELS["suv"]), ("suv10", WINDOW_LABELS["suv10"])]
    if series.modality == "CT":
        return [(k, WINDOW_LABELS[k]) for k in ("soft_tissue", "lung", "bone", "brain")]
    return [("auto", "Automatic (1st–99th percentile)")]


def _window(name: str, series: ImagingSeries, volume: Volume) -> Window:
    if name == "suv10":
        return suv_window(10.0)
    if name == "suv" and volume.units == "SUVbw":
        return suv_window(5.0)
    if name in WINDOWS and volume.modality == "CT":
        return WINDOWS[name]
    # MR (scanner units) and PET not in SUV: the window the ingest worked out from the data.
    center, width = series.geometry.get("auto_window") or (0.5, 1.0)
    return Window("auto", float(center), float(width))


def fusion_partner(series: ImagingSeries) -> ImagingSeries | None:
    """The PET series of the same study and frame of reference as a CT/MR series, if any."""
    if series.modality == "PT" or not series.frame_of_reference_uid:
        return None
    return (
        ImagingSeries.objects.filter(
            study__case_id=series.study.case_id,
            modality="PT",
            frame_of_reference_uid=series.frame_of_reference_uid,
            has_volume=True,
        )
        .exclude(pk=series.pk)
        .first()
    )


def axis_length(series: ImagingSeries, axis: Axis) -> int:
    shape = series.shape or (1, 1, 1)
    return {"axial": shape[0], "coronal": shape[1], "sagittal": shape[2]}[axis]


def slice_render(
    series: ImagingSeries,
    *,
    axis: Axis,
    index: int,
    window: str,
    contours: bool,
    fusion: ImagingSeries | None,
) -> RenderedSlice:
    """One PNG of the series (index clamped to the volume), with contours and PET fusion.

    Raises:
        RenderError: the view cannot be drawn (grids or frames of reference differ).
    """
    volume, masks = series_volume(series)
    last = axis_length(series, axis) - 1
    index = min(max(index, 0), max(last, 0))
    fused = series_volume(fusion)[0] if fusion is not None else None
    regions = list(masks.values()) if contours else []
    return render_slice(
        volume, axis, index, _window(window, series, volume), regions=regions, fusion=fused
    )


__all__ = ["RenderError", "slice_render"]
