"""Frozen dataclasses that leave :mod:`inference.imaging`.

Everything here is plain Python (plus numpy arrays for voxel data, which never cross into
Django models: the ingest job writes them to the media store). Lengths are millimetres, volumes
millilitres, times seconds, CT values Hounsfield units and PET values SUVbw (g/mL) unless a
field says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

# --------------------------------------------------------------------------------------------------
# Archive intake


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds applied to an uploaded archive before and while it is unpacked.

    Args:
        max_entries: most members the archive may list.
        max_total_bytes: most uncompressed bytes over all members, counted while streaming.
        max_entry_bytes: most uncompressed bytes of one member, counted while streaming.
        max_ratio: most uncompressed/compressed bytes per member (zip bombs compress ~1000:1).
        max_name_length: longest member name in characters.
    """

    max_entries: int = 20_000
    max_total_bytes: int = 4 * 1024**3
    max_entry_bytes: int = 1024**3
    max_ratio: float = 200.0
    max_name_length: int = 255


@dataclass(frozen=True)
class ExtractedArchive:
    """Result of :func:`inference.imaging.archive.safe_extract`.

    Args:
        root: the destination folder (as given).
        files: relative paths (POSIX separators) of the files written, in archive order.
        total_bytes: uncompressed bytes written.
    """

    root: str
    files: tuple[str, ...]
    total_bytes: int


# --------------------------------------------------------------------------------------------------
# Sandbox


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for the parser subprocess.

    Args:
        memory_bytes: RLIMIT_AS of the child (virtual address space).
        cpu_seconds: RLIMIT_CPU of the child.
        wall_seconds: wall-clock timeout after which the whole process group is killed.
    """

    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 60
    wall_seconds: float = 120.0


# --------------------------------------------------------------------------------------------------
# Header index


@dataclass(frozen=True)
class InstanceHeader:
    """The header facts of one DICOM file needed to group, sort and describe it."""

    path: str
    sop_instance_uid: str
    sop_class_uid: str
    instance_number: int | None
    image_position: tuple[float, float, float] | None
    image_orientation: tuple[float, float, float, float, float, float] | None
    rows: int | None
    columns: int | None
    pixel_spacing: tuple[float, float] | None
    slice_thickness: float | None
    number_of_frames: int
    transfer_syntax_uid: str


@dataclass(frozen=True)
class SeriesIndex:
    """One series: instances sorted along the slice normal when positions allow it."""

    series_instance_uid: str
    modality: str
    description: str
    body_part: str
    series_number: int | None
    series_date: str
    frame_of_reference_uid: str
    instances: tuple[InstanceHeader, ...]
    slice_count: int
    pixel_spacing: tuple[float, float] | None
    slice_spacing: float | None
    orientation: tuple[float, float, float, float, float, float] | None


@dataclass(frozen=True)
class StudyIndex:
    """One study and its series."""

    study_instance_uid: str
    study_date: str
    description: str
    series: tuple[SeriesIndex, ...]


@dataclass(frozen=True)
class FileProblem:
    """A file that could not be indexed, with a message a person can act on."""

    path: str
    kind: str
    message: str


@dataclass(frozen=True)
class DicomIndex:
    """Header index of an upload: study -> series -> instances, plus the files that failed."""

    patient_id: str
    studies: tuple[StudyIndex, ...]
    problems: tuple[FileProblem, ...]
    file_count: int


# --------------------------------------------------------------------------------------------------
# De-identification


DateOption = Literal["shift", "keep"]


@dataclass(frozen=True)
class DeidOptions:
    """Choices for :func:`inference.imaging.deid.deidentify_file`.

    Args:
        patient_secret: per-patient secret (>= 16 bytes) from which UIDs and the date offset derive;
            keep it server side, never in the output.
        uid_root: UID root under which new UIDs are made (digits and dots, <= 30 characters).
        dates: ``"shift"`` shifts every date by a per-patient offset (Retain Longitudinal Temporal
            Information with Modified Dates Option, 113107); ``"keep"`` keeps them (Full Dates
            Option, 113106).
        max_shift_days: dates move back by 1..max_shift_days days.
        pseudonym: value written to PatientName and PatientID.
    """

    patient_secret: bytes
    uid_root: str = "2.25"
    dates: DateOption = "shift"
    max_shift_days: int = 3650
    pseudonym: str = "ANON"


@dataclass(frozen=True)
class DeidResult:
    """Outcome of de-identifying one file.

    Args:
        output_path: where the de-identified file was written.
        sop_instance_uid: its new SOP Instance UID.
        needs_pixel_review: True when pixels may carry burned-in identifiers; such a file must be
            quarantined for a person to check, never accepted automatically.
        review_reason: why review is needed ("" when not).
        removed_private_tags: number of private elements removed.
        actions_applied: number of Table E.1-1 actions applied.
    """

    output_path: str
    sop_instance_uid: str
    needs_pixel_review: bool
    review_reason: str
    removed_private_tags: int
    actions_applied: int


# --------------------------------------------------------------------------------------------------
# Volumes


@dataclass(frozen=True)
class Volume:
    """A series assembled on a regular grid.

    ``voxels`` is indexed ``[slice, row, column]`` (shape ``(k, rows, cols)``). A voxel centre at
    index (k, r, c) sits at ``origin + c * spacing[2] * row_dir + r * spacing[1] * col_dir +
    k * spacing[0] * normal`` in patient coordinates (mm), where ``row_dir`` is the first triplet of
    ImageOrientationPatient.

    Args:
        voxels: float32 values after rescale (HU for CT, SUVbw for PET after :func:`to_suv`).
        spacing: (slice, row, column) spacing in mm; slice spacing is the median step.
        origin: patient position of voxel (0, 0, 0), mm.
        row_direction, column_direction, normal: unit vectors in patient coordinates.
        modality, units: e.g. ("CT", "HU"), ("PT", "BQML"), ("MR", "").
        series_instance_uid, frame_of_reference_uid: identity for overlays and fusion.
        slice_positions: position of each slice along ``normal`` (mm).
        sop_instance_uids: per slice, for mapping RTSTRUCT/SEG references.
        warnings: irregular spacing, missing slices and other findings a reader should see.
    """

    voxels: npt.NDArray[np.float32]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    row_direction: tuple[float, float, float]
    column_direction: tuple[float, float, float]
    normal: tuple[float, float, float]
    modality: str
    units: str
    series_instance_uid: str
    frame_of_reference_uid: str
    slice_positions: tuple[float, ...]
    sop_instance_uids: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def patient_to_index(self) -> npt.NDArray[np.float64]:
        """Return the 4x4 affine mapping patient mm (x, y, z, 1) to continuous (k, r, c, 1)."""
        return np.asarray(np.linalg.inv(self.index_to_patient()), dtype=np.float64)

    def index_to_patient(self) -> npt.NDArray[np.float64]:
        """Return the 4x4 affine mapping (k, r, c, 1) to patient mm (x, y, z, 1)."""
        affine = np.eye(4)
        affine[:3, 0] = np.asarray(self.normal) * self.spacing[0]
        affine[:3, 1] = np.asarray(self.column_direction) * self.spacing[1]
        affine[:3, 2] = np.asarray(self.row_direction) * self.spacing[2]
        affine[:3, 3] = self.origin
        return affine


# --------------------------------------------------------------------------------------------------
# PET


SuvSource = Literal["computed_from_activity", "already_suv"]


@dataclass(frozen=True)
class SuvConversion:
    """How PET values became SUVbw.

    Args:
        source: ``"already_suv"`` when the series stored SUV (Units GML/SUV) and values were kept;
            ``"computed_from_activity"`` when Bq/mL were converted here.
        factor: multiply Bq/mL by this to get SUVbw (1.0 when already SUV).
        injected_dose_bq: total dose at injection, Bq (None when already SUV and not stated).
        decayed_dose_bq: dose decay-corrected to the scan reference time, Bq.
        half_life_s: radionuclide half-life, s.
        elapsed_s: injection to scan reference time, s.
        weight_kg: patient weight, kg.
        reference_time: which header time the decay was computed to.
    """

    source: SuvSource
    factor: float
    injected_dose_bq: float | None
    decayed_dose_bq: float | None
    half_life_s: float | None
    elapsed_s: float | None
    weight_kg: float | None
    reference_time: str


# --------------------------------------------------------------------------------------------------
# Regions and features


@dataclass(frozen=True)
class RegionMask:
    """A binary mask on a volume's grid (same shape as ``Volume.voxels``)."""

    name: str
    mask: npt.NDArray[np.bool_]
    source: Literal["RTSTRUCT", "SEG"]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measurement:
    """One number with its unit and where it came from.

    Args:
        name: feature name from ``docs/imaging/features.md``.
        value: the number (NaN when it cannot be computed).
        unit: e.g. "mL", "mm", "HU", "SUVbw", "1" for dimensionless.
        provenance: short text naming the series/region and method.
    """

    name: str
    value: float
    unit: str
    provenance: str


@dataclass(frozen=True)
class LesionFeatures:
    """Per-region numbers."""

    region: str
    series_instance_uid: str
    modality: str
    measurements: tuple[Measurement, ...]

    def get(self, name: str) -> float:
        """Return the value of measurement ``name`` (KeyError when absent)."""
        for m in self.measurements:
            if m.name == name:
                return m.value
        raise KeyError(name)


@dataclass(frozen=True)
class ImagingFeatures:
    """What the model's imaging branch receives for one study.

    Args:
        study_instance_uid: the (de-identified) study.
        lesions: per-region features.
        study: per-study numbers (e.g. total lesion volume, largest SUVmax).
        feature_version: version of the feature definitions (bumped when a definition changes).
    """

    study_instance_uid: str
    lesions: tuple[LesionFeatures, ...]
    study: tuple[Measurement, ...]
    feature_version: str = "imaging-features-1"


# --------------------------------------------------------------------------------------------------
# RECIST


@dataclass(frozen=True)
class RecistLesion:
    """One lesion measurement at one time point.

    Args:
        lesion_id: stable id across time points.
        kind: "target", "non_target" or "new".
        diameter_mm: longest diameter (short axis for lymph nodes) for targets; None otherwise.
        is_lymph_node: nodal target (short axis; < 10 mm counts as normal for CR).
        status: for non-targets: "present", "absent" or "unequivocal_progression".
    """

    lesion_id: str
    kind: Literal["target", "non_target", "new"]
    diameter_mm: float | None = None
    is_lymph_node: bool = False
    status: Literal["present", "absent", "unequivocal_progression"] = "present"


@dataclass(frozen=True)
class RecistTimePoint:
    """All lesions assessed on one date (ISO date string)."""

    date: str
    lesions: tuple[RecistLesion, ...]


RecistCategory = Literal["CR", "PR", "SD", "PD", "NE"]


@dataclass(frozen=True)
class RecistAssessment:
    """Response at one follow-up time point.

    Args:
        date: the time point.
        sum_of_diameters_mm: sum over target lesions.
        baseline_sum_mm, nadir_sum_mm: reference sums (nadir: minimum over all earlier points,
            baseline included).
        change_from_baseline_pct, change_from_nadir_pct: relative changes, %.
        target_response, non_target_response, overall: categories.
        reasons: the rules that decided the category, for the clinician to review.
    """

    date: str
    sum_of_diameters_mm: float
    baseline_sum_mm: float
    nadir_sum_mm: float
    change_from_baseline_pct: float
    change_from_nadir_pct: float
    target_response: RecistCategory
    non_target_response: Literal["CR", "Non-CR/Non-PD", "PD", "NE", "none"]
    overall: RecistCategory
    reasons: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------------
# Rendering


@dataclass(frozen=True)
class Window:
    """Display window: values in [center - width/2, center + width/2] map to black..white."""

    name: str
    center: float
    width: float


@dataclass(frozen=True)
class RenderedSlice:
    """A PNG of one slice with what it shows."""

    png: bytes
    axis: Literal["axial", "coronal", "sagittal"]
    index: int
    window: Window
    width: int
    height: int
    overlays: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------
# Whole-upload processing (:mod:`inference.imaging.ingest`)


@dataclass(frozen=True)
class QuarantinedFile:
    """A de-identified file held back until a person has checked its pixels.

    Args:
        path: the de-identified file (in the work folder).
        sop_instance_uid: its new SOP Instance UID.
        modality: as in the header.
        reason: why its pixels need review.
    """

    path: str
    sop_instance_uid: str
    modality: str
    reason: str


@dataclass(frozen=True)
class UploadSeries:
    """One series of an upload after de-identification.

    Args:
        index: the header index of the series (de-identified UIDs, paths in the work folder).
        voxels_path: ``.npy`` file of the volume's voxels (float32, SUVbw for PET when converted);
            "" when no volume was built (RTSTRUCT, SEG, or a series that failed to load).
        volume: the volume's geometry; its ``voxels`` is an empty placeholder, the data are at
            ``voxels_path`` (kept out of the pipe so large studies are not copied twice).
        suv: how PET values became SUVbw; None otherwise (or when SUV could not be worked out).
        problems: what went wrong or is worth knowing for this series.
    """

    index: SeriesIndex
    voxels_path: str
    volume: Volume | None
    suv: SuvConversion | None
    problems: tuple[FileProblem, ...] = ()


@dataclass(frozen=True)
class UploadRegion:
    """One RTSTRUCT ROI or SEG segment placed on an image series of the upload.

    Args:
        name: ROI name or segment label (``ROI n`` when de-identification emptied it).
        source: RTSTRUCT or SEG.
        source_sop_instance_uid: the de-identified structure set / segmentation instance.
        series_instance_uid: the image series it lies on.
        mask_path: ``.npy`` boolean mask on that series' grid.
        features: its measurements (intensities in HU, SUVbw or scanner units).
        warnings: contour problems.
    """

    name: str
    source: Literal["RTSTRUCT", "SEG"]
    source_sop_instance_uid: str
    series_instance_uid: str
    mask_path: str
    features: LesionFeatures
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class UploadResult:
    """Everything :func:`inference.imaging.ingest.process_upload` found and wrote.

    Args:
        refused: a reason the whole upload must be refused ("" when it may be stored); set for
            files of more than one patient.
        problems: per-file problems (each message names its file by its name in the upload).
        quarantined: files awaiting pixel review (not indexed, not measured).
        studies: study index of the accepted files (de-identified).
        series: per image or region series, what was built.
        regions: regions with their features.
        features: per study, the model's input.
        file_count: files received.
    """

    refused: str
    problems: tuple[FileProblem, ...]
    quarantined: tuple[QuarantinedFile, ...]
    studies: tuple[StudyIndex, ...]
    series: tuple[UploadSeries, ...]
    regions: tuple[UploadRegion, ...]
    features: tuple[ImagingFeatures, ...]
    file_count: int
