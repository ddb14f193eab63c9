"""RECIST results back to the PACS: a time point as DICOM SR (TID 1500) and SEG, over STOW-RS.

On the clinician's request (:func:`pacs_results_request`, audited by the view) a job
(:func:`pacs_results_run`) writes the time point's lesions as a measurement report and, for the
lesions measured on a region with a contour, a segmentation, both referencing the source images
*as the PACS knows them*:

* the de-identified series a lesion was measured on came from a PACS import, which kept the
  PACS's own series, SOP instance and class UIDs (``ImagingUpload.pacs_instances``); the series
  is found among them by its de-identified UID (the same keyed hash the ingest applied);
* the source images' headers (patient, study, geometry) are read back from the PACS (WADO-RS
  metadata), never from our de-identified copies; a header of another Patient ID than the MRN
  refuses the whole send;
* the slices are put in the stored volume's order by their position along its normal, so the
  SEG's frames are the masks' planes.

Both objects get UIDs derived from the job (a retry replaces, never duplicates, them) and are
stored together; the outcome is audited with the patient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from pydicom.dataset import Dataset

from inference.imaging.deid import remap_uid
from inference.imaging.dicom_results import ResultLesion, ResultUids, recist_seg, recist_sr
from oncology_ui.core.audit import audit_for_requester
from oncology_ui.core.jobs import PermanentJobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.imaging.models import ImagingRegion, ImagingSeries, ImagingUpload, RecistAssessment
from oncology_ui.imaging.pacs import pacs_conf
from oncology_ui.imaging.pacs_dicomweb import DicomwebTransport
from oncology_ui.imaging.pacs_transport import PacsError
from oncology_ui.imaging.selectors import series_volume
from oncology_ui.imaging.storage import imaging_key_secret

RESULTS_JOB = "imaging_pacs_results"
SOFTWARE_VERSION = "OncoBoard RECIST export 1"
_UID_ROOT = "2.25"
_BULK = ("BulkDataURI", "InlineBinary")


def _regions(assessment: RecistAssessment) -> dict[int, ImagingRegion]:
    ids = [les["region_id"] for les in assessment.lesions if les.get("region_id")]
    rows = ImagingRegion.objects.filter(
        pk__in=ids,
        series__study__case=assessment.case,
        series__study__upload__source=ImagingUpload.Source.PACS,
    ).select_related("series__study__upload")
    return {r.pk: r for r in rows}


def _measured_series(assessment: RecistAssessment) -> tuple[ImagingSeries, dict[int, Any]]:
    """The series of the first lesion measured on a PACS-imported study, and the regions."""
    regions = _regions(assessment)
    for lesion in assessment.lesions:
        region = regions.get(lesion.get("region_id") or 0)
        if region is not None and region.series.study.upload.pacs_instances:
            return region.series, regions
    raise PacsError(
        "None of this time point's lesions was measured on a region of a study imported from "
        "the PACS: there are no images in the PACS for the results to reference."
    )


def pacs_results_request(*, assessment: RecistAssessment, user: User, connection: str = "") -> Job:
    """Queue the send of ``assessment`` to the PACS of ``connection`` (DICOMweb: STOW-RS).

    Raises:
        ValidationError: no such connection, a DIMSE-only one, or nothing to reference.
    """
    try:
        conf = pacs_conf(connection)
        if conf.transport != "dicomweb":
            raise PacsError(
                f"Results go back over DICOMweb (STOW-RS); the connection {conf.name!r} is "
                "DIMSE only. Choose a DICOMweb connection."
            )
        _measured_series(assessment)
    except PacsError as exc:
        raise ValidationError(str(exc)) from exc
    with transaction.atomic():
        job = job_enqueue(
            kind=RESULTS_JOB, target=assessment, user=user, message="Waiting to be sent to the PACS"
        )
        job.result = {"connection": conf.key}
        job.save(update_fields=["result"])
    return job


def pacs_results_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Job entry point: write the SR (and SEG) of the time point and store them in the PACS."""
    assessment = (
        RecistAssessment.objects.select_related("case__patient").filter(pk=job.target_id).first()
    )
    if assessment is None:
        raise PermanentJobError("The time point no longer exists.")

    def audit(outcome: str) -> None:
        audit_for_requester(
            requested_by=job.created_by,
            action=AccessLog.Action.EXPORT,
            category="imaging-pacs-store",
            patient_id=assessment.case.patient_id,
            object_ref=f"recist:{assessment.pk}",
            outcome=outcome,
        )

    try:
        result = _send(job, assessment, str(job.result.get("connection", "")), progress)
    except PacsError as exc:
        audit(AccessLog.Outcome.FAILURE)
        raise PermanentJobError(str(exc)) from exc
    except ValueError as exc:  # highdicom refused what it was given
        audit(AccessLog.Outcome.FAILURE)
        raise PermanentJobError(f"The results could not be written as DICOM: {exc}") from exc
    audit(AccessLog.Outcome.SUCCESS)
    return result


def _header(item: dict[str, Any]) -> Dataset:
    """A PACS's JSON header as a dataset, without its bulk data (pixels are not needed)."""
    kept = {tag: value for tag, value in item.items() if not any(k in value for k in _BULK)}
    return Dataset.from_json(kept)


def _source_slices(
    transport: DicomwebTransport, series: ImagingSeries, mrn: str, secret: bytes
) -> list[Dataset]:
    """The PACS's headers of ``series``' slices, in the stored volume's slice order."""
    upload = series.study.upload
    originals = {row[0] for row in upload.pacs_instances}
    matches = [s for s in originals if remap_uid(s, secret, _UID_ROOT) == series.series_uid]
    if not matches:
        raise PacsError("The series measured on is not one the PACS import retrieved.")
    headers = [
        _header(item) for item in transport.series_metadata(upload.pacs_study_uid, matches[0])
    ]
    if any(str(h.get("PatientID", "")).strip() != mrn for h in headers):
        raise PacsError(
            "The PACS now holds these images under another Patient ID than this patient's MRN; "
            "nothing was sent."
        )
    normal = np.asarray(series.geometry.get("normal") or (0.0, 0.0, 1.0), dtype=float)
    spacing = float(series.slice_spacing or 1.0)
    by_position = {}
    for header in headers:
        if "ImagePositionPatient" in header:
            by_position[float(np.dot(np.asarray(header.ImagePositionPatient, float), normal))] = (
                header
            )
    slices = []
    for position in series.geometry.get("slice_positions") or []:
        nearest = min(by_position, key=lambda p: abs(p - position), default=None)
        if nearest is None or abs(nearest - position) > 0.1 * spacing:
            raise PacsError(
                "The PACS's images of this series no longer match the imported ones; "
                "nothing was sent."
            )
        slices.append(by_position[nearest])
    if not slices:
        raise PacsError("The series measured on has no slices to reference.")
    return slices


def _send(
    job: Job, assessment: RecistAssessment, connection: str, progress: ProgressCallback
) -> dict[str, object]:
    conf = pacs_conf(connection)
    transport = DicomwebTransport(conf)
    series, regions = _measured_series(assessment)
    patient = assessment.case.patient
    secret = imaging_key_secret(patient)
    progress(10, "Reading the source images' headers from the PACS")
    slices = _source_slices(transport, series, patient.mrn.strip(), secret)
    _, masks = series_volume(series)
    lesions = []
    for les in assessment.lesions:
        region = regions.get(les.get("region_id") or 0)
        mask = None
        if region is not None and region.series_id == series.pk and region.pk in masks:
            mask = np.asarray(masks[region.pk].mask, dtype=bool)
        lesions.append(
            ResultLesion(
                lesion_id=str(les["lesion_id"]),
                kind=str(les["kind"]),
                diameter_mm=les.get("diameter_mm"),
                is_lymph_node=bool(les.get("is_lymph_node")),
                mask=mask,
            )
        )

    def uids(part: str, number: int) -> ResultUids:
        return ResultUids(
            series_uid=remap_uid(f"results-series-{job.pk}-{part}", secret, _UID_ROOT),
            sop_uid=remap_uid(f"results-{job.pk}-{part}", secret, _UID_ROOT),
            series_number=number,
        )

    progress(40, "Writing the measurement report")
    seg = None
    segments: dict[str, int] = {}
    if any(les.mask is not None and les.mask.any() for les in lesions):
        seg, segments = recist_seg(slices, lesions, uids("seg", 9902), SOFTWARE_VERSION)
    sr = recist_sr(
        slices, lesions, uids("sr", 9901), overall=assessment.overall, seg=seg, segments=segments
    )
    progress(70, "Storing in the PACS")
    transport.store([sr] + ([seg] if seg is not None else []))
    return {
        "connection": conf.key,
        "sr": str(sr.SOPInstanceUID),
        "seg": str(seg.SOPInstanceUID) if seg is not None else "",
        "lesions": len(lesions),
        "segments": len(segments),
    }
