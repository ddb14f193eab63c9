"""Slides from a DICOMweb whole-slide store (the PACS of :mod:`oncology_ui.imaging.pacs`).

Find (:func:`slide_pacs_series_find`): one QIDO-RS query for the patient's slide series (modality
``SM``) by MRN; series listed under another Patient ID are dropped, not shown.

Import (:func:`slide_pacs_import_request`, then the slide's own ingest job):

1. the request writes a :class:`Slide` naming the study and series, and queues the ingest job;
2. the job (:func:`slide_pacs_retrieve`) asks the PACS whose study it is (another patient's is
   refused before a single frame is retrieved), then retrieves the series' instances (WADO-RS)
   with the PACS settings' timeouts and size limit into a private temporary ZIP archive, which
   becomes the slide's original by one rename only when complete;
3. the ingest (:func:`.services.slide_ingest`) takes over as for an upload: sandboxed inspection
   (one slide, complete, of this patient's MRN), de-identification, tiling, features.

The connection, its limits and its error messages are the imaging app's (imported, not copied);
every query and retrieve is audited with the patient.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomweb_client.api import DICOMwebClient
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from oncology_ui.core.audit import audit_for_requester
from oncology_ui.core.models import AccessLog
from oncology_ui.imaging.conf import PacsSettings, pacs_settings
from oncology_ui.imaging.pacs import (
    UID_PATTERN,
    PacsError,
    dicom_date,
    dicom_json_text,
    pacs_conf,
    pacs_query_value_check,
)
from oncology_ui.imaging.pacs_dicomweb import DICOMWEB_FAILURES, DicomwebTransport, dicomweb_explain
from oncology_ui.pathology import services
from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case

MAX_SERIES_LISTED = 100
SLIDE_MODALITY = "SM"
_SERIES_FIELDS = [
    "StudyDate",
    "StudyDescription",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
    "PatientID",
]


def _slide_store() -> PacsSettings:
    """The settings' PACS connection, which must speak DICOMweb (WSI over DIMSE is not offered)."""
    conf = pacs_conf("")
    if conf.transport != "dicomweb":
        raise PacsError("Slides are imported over DICOMweb only; this PACS connection is DIMSE.")
    return conf


@dataclass(frozen=True)
class PacsSlideSeries:
    """One slide series as the PACS lists it (shown, never stored)."""

    study_uid: str
    series_uid: str
    date: dt.date | None
    description: str
    instance_count: int | None
    imported: bool = False


def slide_pacs_series_find(*, case: Case) -> list[PacsSlideSeries]:
    """The PACS's slide series (modality SM) of the case's patient, by MRN; newest first.

    Raises:
        ValidationError: the MRN cannot be searched safely.
        PacsError: no PACS is configured, or it could not answer (down, slow, credentials).
    """
    conf = _slide_store()
    mrn = case.patient.mrn.strip()
    if not mrn:
        raise ValidationError("This patient has no MRN to search the PACS with.")
    pacs_query_value_check(mrn, "MRN")
    try:
        found = DicomwebTransport(conf).client.search_for_series(
            search_filters={"PatientID": mrn, "Modality": SLIDE_MODALITY},
            fields=_SERIES_FIELDS,
            limit=MAX_SERIES_LISTED,
        )
    except DICOMWEB_FAILURES as exc:
        raise dicomweb_explain(exc, conf) from exc
    imported = set(
        Slide.objects.filter(case=case)
        .exclude(status=Slide.Status.FAILED)
        .exclude(pacs_series_uid="")
        .values_list("pacs_series_uid", flat=True)
    )
    series = []
    for item in found:
        series_uid = dicom_json_text(item, "0020000E")
        if dicom_json_text(item, "00100020") not in ("", mrn) or not series_uid:
            continue  # a PACS that matches loosely must not show another patient's slides
        description = " · ".join(
            text
            for text in (dicom_json_text(item, "00081030"), dicom_json_text(item, "0008103E"))
            if text
        )
        count = dicom_json_text(item, "00201209")
        series.append(
            PacsSlideSeries(
                study_uid=dicom_json_text(item, "0020000D"),
                series_uid=series_uid,
                date=dicom_date(dicom_json_text(item, "00080020")),
                description=description[:200],
                instance_count=int(count) if count.isdigit() else None,
                imported=series_uid in imported,
            )
        )
    return sorted(series, key=lambda s: s.date or dt.date.min, reverse=True)


def slide_pacs_import_request(*, case: Case, user: User, study_uid: str, series_uid: str) -> Slide:
    """Write the imported slide's row and queue its job; a running import of it is reused.

    Raises:
        ValidationError: no PACS is configured, or a UID is not a DICOM UID.
    """
    if pacs_settings() is None:
        raise ValidationError("No PACS is configured here (PACS_DICOMWEB_URL is not set).")
    study_uid, series_uid = study_uid.strip(), series_uid.strip()
    for uid in (study_uid, series_uid):
        if len(uid) > 64 or not UID_PATTERN.match(uid):
            raise ValidationError("That is not a DICOM Study or Series Instance UID.")
    with transaction.atomic():
        running = Slide.objects.filter(
            case=case,
            pacs_series_uid=series_uid,
            status__in=[Slide.Status.RECEIVED, Slide.Status.PROCESSING],
        ).first()
        if running is not None:
            return running
        slide = Slide(
            case=case,
            original_name="Slide from the PACS",
            file_kind="zip",
            pacs_study_uid=study_uid,
            pacs_series_uid=series_uid,
            created_by=user,
        )
        slide.full_clean()
        slide.save()
        slide.enqueue_job(kind=services.INGEST_JOB, user=user, message="Waiting to be retrieved")
    return slide


def slide_pacs_retrieve(*, slide: Slide, progress: services.Progress) -> None:
    """Retrieve the slide's series into its original (a ZIP archive), whole or not at all.

    Raises:
        PacsError: the PACS failed, the study is another patient's, or it is too large; no
            file is left behind.
    """
    conf = _slide_store()
    transport = DicomwebTransport(conf)
    client, session = transport.client, transport.session
    mrn = slide.case.patient.mrn.strip()
    progress(1, "Asking the PACS for the slide")
    try:
        found = client.search_for_studies(
            search_filters={"StudyInstanceUID": slide.pacs_study_uid}, limit=2
        )
        if not found:
            raise PacsError("The PACS does not have this slide (any more).")
        if any(dicom_json_text(item, "00100020") != mrn for item in found):
            raise PacsError(
                "The PACS holds this slide under another Patient ID than this patient's MRN; "
                "nothing was retrieved or stored."
            )
        part = services.media_path(f"pathology/uploads/{secrets.token_hex(16)}.part")
        part.parent.mkdir(parents=True, exist_ok=True)
        try:
            count = _write_series(client, slide, part, progress)
            if not count:
                raise PacsError("The PACS sent no images for this slide; nothing was stored.")
            services.slide_attach_original(slide=slide, source=part, name=_name(found[0]))
        finally:
            part.unlink(missing_ok=True)
    except DICOMWEB_FAILURES as exc:
        raise dicomweb_explain(exc, conf) from exc
    finally:
        session.close()


def _write_series(
    client: DICOMwebClient, slide: Slide, part: Path, progress: services.Progress
) -> int:
    count = 0
    with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as archive:
        for dataset in client.iter_series(slide.pacs_study_uid, slide.pacs_series_uid):
            buffer = io.BytesIO()
            dataset.save_as(buffer, enforce_file_format=True)
            archive.writestr(f"{count:06d}.dcm", buffer.getbuffer())
            count += 1
            progress(min(4, 1 + count // 4), f"Retrieved {count} DICOM instances")
    os.chmod(part, 0o600)
    return count


def _name(study: dict[str, Any]) -> str:
    when = dicom_date(dicom_json_text(study, "00080020"))
    return f"Slide from the PACS ({when.isoformat() if when else 'unknown date'})"


def audit_pacs_retrieve(slide: Slide, outcome: str) -> None:
    """The retrieve, with the patient: run by the job, so named by who asked for it."""
    audit_for_requester(
        requested_by=slide.created_by,
        action=AccessLog.Action.CREATE,
        category="slide-pacs-retrieve",
        patient_id=slide.case.patient_id,
        object_ref=f"slide:{slide.pk}",
        outcome=outcome,
    )
