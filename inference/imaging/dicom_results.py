"""RECIST results written back as DICOM: a TID 1500 measurement report (SR) and a SEG.

Pure DICOM writing with highdicom (no Django, no network): the caller gives the headers of the
source images as the PACS holds them (patient, study, geometry; pixel data is not needed) and
the lesions of one RECIST time point; the SR references the source images (and the SEG's
segments where a lesion has a contour), the SEG's frames reference the source slices they
cover. Both say "research use only" in their descriptions: they are decision support derived
from measurements entered in OncoBoard, to be confirmed by a radiologist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import highdicom as hd
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

MANUFACTURER = "OncoBoard"
RESEARCH_USE = "Research use only"
_PROCEDURES = {
    "CT": codes.LN.CTUnspecifiedBodyRegion,
    "MR": hd.sr.CodedConcept("25056-3", "LN", "MRI unspecified body region"),
    "PT": hd.sr.CodedConcept("44136-0", "LN", "PET unspecified body region"),
}


@dataclass(frozen=True)
class ResultLesion:
    """One lesion of the time point.

    Args:
        lesion_id: the id lesions are tracked by between time points.
        kind: ``target``, ``non_target`` or ``new``.
        diameter_mm: longest diameter (short axis for a lymph node), if measured.
        is_lymph_node: whether the diameter is a short axis.
        mask: the lesion's contour as a mask on the SEG's source slices (slices, rows,
            columns), or None when it has none there.
    """

    lesion_id: str
    kind: str
    diameter_mm: float | None
    is_lymph_node: bool
    mask: npt.NDArray[np.bool_] | None = None


@dataclass(frozen=True)
class ResultUids:
    """New UIDs and numbers for the written objects (the caller keeps them stable per retry)."""

    series_uid: str
    sop_uid: str
    series_number: int

    def identity(self) -> dict[str, Any]:
        """The series, instance and maker every written object carries (one instance a series)."""
        return {
            "series_instance_uid": self.series_uid,
            "series_number": self.series_number,
            "sop_instance_uid": self.sop_uid,
            "instance_number": 1,
            "manufacturer": MANUFACTURER,
        }


def _headers(images: Sequence[Dataset]) -> list[Dataset]:
    """Copies of the source headers highdicom accepts and that keep our objects valid."""
    out = []
    for ds in images:
        copy = Dataset(ds)
        if hasattr(ds, "file_meta"):
            copy.file_meta = ds.file_meta
        if "SpecificCharacterSet" in copy and not copy.SpecificCharacterSet:
            del copy.SpecificCharacterSet
        # A Study ID past its 16 characters (SH) would make our objects invalid; it is Type 2,
        # so it is sent empty instead (the study is identified by its UID).
        if len(str(copy.get("StudyID", "") or "")) > 16:
            copy.StudyID = ""
        out.append(copy)
    return out


def _label(lesion: ResultLesion) -> str:
    kind = {"target": "target", "non_target": "non-target", "new": "new"}.get(lesion.kind, "")
    return f"Lesion {lesion.lesion_id} ({kind})"[:64]


def recist_seg(
    source_images: Sequence[Dataset],
    lesions: Sequence[ResultLesion],
    uids: ResultUids,
    software_version: str,
) -> tuple[Dataset, dict[str, int]]:
    """A binary SEG of the lesions' masks on ``source_images`` (one series, slice order).

    Returns the SEG and each lesion's segment number.

    Raises:
        ValueError: no lesion has a mask, or a mask does not match the source slices.
    """
    source_images = _headers(source_images)
    masked = [les for les in lesions if les.mask is not None and les.mask.any()]
    if not masked:
        raise ValueError("no lesion has a contour on these images")
    shape = (len(source_images), int(source_images[0].Rows), int(source_images[0].Columns))
    stack = np.zeros((*shape, len(masked)), dtype=bool)
    segments: dict[str, int] = {}
    descriptions = []
    for number, lesion in enumerate(masked, start=1):
        assert lesion.mask is not None
        if lesion.mask.shape != shape:
            raise ValueError(f"the mask of lesion {lesion.lesion_id} does not fit the images")
        stack[..., number - 1] = lesion.mask
        segments[lesion.lesion_id] = number
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=_label(lesion),
                segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
                segmented_property_type=codes.SCT.LymphNode
                if lesion.is_lymph_node
                else codes.SCT.Lesion,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
                tracking_uid=hd.UID(),
                tracking_id=f"Lesion {lesion.lesion_id}"[:64],
            )
        )
    seg = hd.seg.Segmentation(
        source_images=list(source_images),
        pixel_array=stack,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        **uids.identity(),
        manufacturer_model_name="OncoBoard RECIST",
        software_versions=software_version,
        device_serial_number="0",
        series_description=f"RECIST lesions ({RESEARCH_USE})"[:64],
        content_label="RECIST",
        content_description=f"Lesion contours from OncoBoard. {RESEARCH_USE}."[:64],
    )
    return seg, segments


def recist_sr(
    evidence: Sequence[Dataset],
    lesions: Sequence[ResultLesion],
    uids: ResultUids,
    *,
    overall: str,
    seg: Dataset | None = None,
    segments: dict[str, int] | None = None,
) -> Dataset:
    """A Comprehensive 3D SR holding a TID 1500 measurement report of the time point.

    One measurement group per lesion (its tracking id, finding type, and its diameter in mm
    as a long or short axis when measured); a lesion with a segment in ``seg`` is a volumetric
    group referencing that segment and the source slices it covers (``evidence`` is then the
    SEG's source images, in its slice order), the others reference the source images.

    Args:
        evidence: headers of the source images (first one gives the patient and study).
        overall: the RECIST 1.1 overall response ("" for a baseline), in the description.
    """
    if not evidence:
        raise ValueError("a measurement report needs its source images")
    evidence = _headers(evidence)
    segments = segments or {}
    sources = [hd.sr.SourceImageForMeasurementGroup.from_source_image(ds) for ds in evidence]
    groups: list[
        hd.sr.MeasurementsAndQualitativeEvaluations
        | hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations
    ] = []
    for lesion in lesions:
        measurements = []
        if lesion.diameter_mm is not None:
            measurements.append(
                hd.sr.Measurement(
                    name=codes.SCT.ShortAxis if lesion.is_lymph_node else codes.SCT.LongAxis,
                    value=float(lesion.diameter_mm),
                    unit=codes.UCUM.Millimeter,
                )
            )
        tracking = hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=_label(lesion))
        finding = codes.SCT.LymphNode if lesion.is_lymph_node else codes.SCT.Lesion
        number = segments.get(lesion.lesion_id)
        if seg is not None and number is not None and lesion.mask is not None:
            covered = [ds for ds, plane in zip(evidence, lesion.mask, strict=False) if plane.any()]
            referenced = hd.sr.ReferencedSegment(
                sop_class_uid=seg.SOPClassUID,
                sop_instance_uid=seg.SOPInstanceUID,
                segment_number=number,
                source_images=[
                    hd.sr.SourceImageForSegmentation.from_source_image(ds) for ds in covered
                ],
            )
            groups.append(
                hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking,
                    referenced_segment=referenced,
                    finding_type=finding,
                    measurements=measurements or None,
                )
            )
        else:
            groups.append(
                hd.sr.MeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking,
                    finding_type=finding,
                    measurements=measurements or None,
                    source_images=sources,
                )
            )
    modality = str(evidence[0].get("Modality", ""))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(),
        procedure_reported=_PROCEDURES.get(modality, codes.LN.CTUnspecifiedBodyRegion),
        imaging_measurements=groups,
        title=codes.DCM.ImagingMeasurementReport,
    )
    described = f"RECIST 1.1 {overall or 'baseline'} ({RESEARCH_USE})"[:64]
    return hd.sr.Comprehensive3DSR(
        evidence=[*evidence, *([seg] if seg is not None else [])],
        content=report,
        **uids.identity(),
        is_complete=True,
        is_final=False,
        series_description=described,
    )
