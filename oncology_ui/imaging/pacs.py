"""Query and retrieve studies from the hospital PACS, into the upload's ingest.

The connection (:mod:`.connections`: the one in settings, or one configured in the admin) picks
the transport (:mod:`.pacs_transport`): DICOMweb (QIDO-RS, WADO-RS) or DIMSE (C-FIND, C-GET).
Everything below is the same for both.

Find (:func:`pacs_studies_find`): one study-level query for the patient's MRN (and an accession
number if given); studies the PACS lists under another Patient ID are dropped, not shown.

Import (:func:`pacs_import_request`, then the ``imaging_pacs_import`` job, :func:`pacs_import_run`):

1. the request writes an :class:`ImagingUpload` (``source=pacs``) and queues its job;
2. the job asks the PACS (a study-level query) whose study it is: another patient's study is
   refused before a single image is retrieved;
3. it retrieves the study's instances (WADO-RS or C-GET), series by series, into a private
   temporary folder, with the connection's timeout on every connect and read and its size
   limit on the bytes; a worker stopped half-way keeps the completed series and the next
   attempt resumes after them;
4. only a complete retrieval is handed over, by one rename, to the folder where an upload's raw
   files wait; any failure removes the temporary folder and fails the row with the reason, so
   nothing of a half study is ever stored;
5. the upload's own ingest (:func:`.services.upload_run`) takes over: sandboxed indexing and
   de-identification, and the refusal of files whose Patient ID is not the case's MRN.

Every query and retrieve is audited with the patient (the query and the import request by the
view, the retrieve here, with its outcome). The credentials come from the environment only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from oncology_ui.core.audit import audit_for_requester, audit_record
from oncology_ui.core.jobs import PermanentJobError, ProgressCallback
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.imaging import services
from oncology_ui.imaging.conf import PacsSettings
from oncology_ui.imaging.connections import SETTINGS_KEY, pacs_connection
from oncology_ui.imaging.models import ImagingUpload
from oncology_ui.imaging.pacs_transport import (
    PacsError,
    PacsTransport,
    StudyTooLarge,
    pacs_transport,
    too_large,
)
from oncology_ui.imaging.storage import imaging_root, private_dir
from oncology_ui.patients.models import Case

logger = logging.getLogger(__name__)
T = TypeVar("T")

IMPORT_JOB = "imaging_pacs_import"
MAX_STUDIES_LISTED = 100
UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
# QIDO-RS matches these as wildcards (and "\" separates values): an MRN or accession holding
# one would list other patients' studies, so it is refused instead of sent.
_WILDCARDS = frozenset("*?\\")
_STUDY_FIELDS = [
    "StudyDate",
    "StudyDescription",
    "AccessionNumber",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
]


@dataclass(frozen=True)
class PacsStudy:
    """One study as the PACS lists it (shown, never stored: the stored study is de-identified)."""

    study_uid: str
    date: dt.date | None
    modalities: tuple[str, ...]
    description: str
    accession: str
    series_count: int | None
    instance_count: int | None
    imported: bool = False


# --- the connection ----------------------------------------------------------------------------


def pacs_conf(key: str) -> PacsSettings:
    """The connection of ``key``, with its password present when it has one."""
    conf = pacs_connection(key)
    if conf is None:
        raise PacsError(
            "No PACS is configured here (PACS_DICOMWEB_URL is not set)."
            if key in ("", SETTINGS_KEY)
            else "That PACS connection is no longer configured; choose another."
        )
    if conf.password_env and not conf.password:
        raise PacsError(
            f"The password of the PACS connection {conf.name!r} is missing: the environment "
            f"variable {conf.password_env} is not set on this server; ask your administrator."
        )
    return conf


# --- find --------------------------------------------------------------------------------------


def _values(item: dict[str, Any], tag: str) -> list[Any]:
    element = item.get(tag)
    return list(element.get("Value") or []) if isinstance(element, dict) else []


def dicom_json_text(item: dict[str, Any], tag: str) -> str:
    values = _values(item, tag)
    return str(values[0]).strip() if values and values[0] is not None else ""


def _count(item: dict[str, Any], tag: str) -> int | None:
    try:
        return int(dicom_json_text(item, tag))
    except ValueError:
        return None


def dicom_date(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None


def _study(item: dict[str, Any], imported: set[str]) -> PacsStudy:
    uid = dicom_json_text(item, "0020000D")
    return PacsStudy(
        study_uid=uid,
        date=dicom_date(dicom_json_text(item, "00080020")),
        modalities=tuple(str(m) for m in _values(item, "00080061") if m),
        description=dicom_json_text(item, "00081030")[:200],
        accession=dicom_json_text(item, "00080050")[:64],
        series_count=_count(item, "00201206"),
        instance_count=_count(item, "00201208"),
        imported=uid in imported,
    )


def pacs_query_value_check(value: str, what: str) -> None:
    if _WILDCARDS & set(value):
        raise ValidationError(
            f"The {what} holds a character the PACS reads as a wildcard (* ? \\); it cannot be "
            "searched without listing other patients."
        )


def pacs_query_audited(
    request: HttpRequest,
    find: Callable[[], T],
    *,
    category: str,
    case: Case,
) -> tuple[T | None, str]:
    """Run a PACS query for ``case`` and audit it with its outcome (``pacs-query:case:<id>``).

    Returns:
        (what ``find`` found, "") or (None, what went wrong, in words for the page).
    """
    found: T | None = None
    error = ""
    try:
        found = find()
    except ValidationError as exc:
        error = " ".join(exc.messages)
    except PacsError as exc:
        error = str(exc)
    audit_record(
        request=request,
        action=AccessLog.Action.VIEW,
        category=category,
        patient_id=case.patient_id,
        object_ref=f"pacs-query:case:{case.pk}",
        outcome=AccessLog.Outcome.FAILURE if error else AccessLog.Outcome.SUCCESS,
    )
    return found, error


def pacs_studies_find(*, case: Case, accession: str = "", connection: str = "") -> list[PacsStudy]:
    """The PACS's studies of the case's patient (by MRN, and ``accession`` when given).

    Studies listed under another Patient ID than the MRN are left out (a PACS that matches
    loosely must not show another patient's studies here). Newest first, at most
    :data:`MAX_STUDIES_LISTED`.

    Raises:
        ValidationError: the MRN or accession cannot be searched safely.
        PacsError: no PACS is configured, or it could not answer (down, slow, credentials).
    """
    conf = pacs_conf(connection)
    mrn = case.patient.mrn.strip()
    accession = accession.strip()
    if not mrn:
        raise ValidationError("This patient has no MRN to search the PACS with.")
    pacs_query_value_check(mrn, "MRN")
    pacs_query_value_check(accession, "accession number")
    filters = {"PatientID": mrn}
    if accession:
        filters["AccessionNumber"] = accession
    found = pacs_transport(conf).find_studies(filters, _STUDY_FIELDS, MAX_STUDIES_LISTED)
    mine = [item for item in found if dicom_json_text(item, "00100020") == mrn]
    if len(mine) < len(found):
        logger.warning(
            "the PACS listed %d studies of another Patient ID for case %s; left out",
            len(found) - len(mine),
            case.pk,
        )
    imported = set(
        ImagingUpload.objects.filter(
            case=case, source=ImagingUpload.Source.PACS, status=ImagingUpload.Status.STORED
        ).values_list("pacs_study_uid", flat=True)
    )
    studies = [_study(item, imported) for item in mine if dicom_json_text(item, "0020000D")]
    return sorted(studies, key=lambda s: s.date or dt.date.min, reverse=True)


# --- import ------------------------------------------------------------------------------------


def pacs_import_request(
    *, case: Case, user: User | None, study_uid: str, connection: str = ""
) -> ImagingUpload:
    """Write the import's row and queue its job; an import of the study still running is reused.

    ``connection`` is the key of the PACS connection to retrieve over ("" for the first one).

    Raises:
        ValidationError: no such PACS connection, or ``study_uid`` is not a DICOM UID.
    """
    try:
        conf = pacs_conf(connection)
    except PacsError as exc:
        raise ValidationError(str(exc)) from exc
    study_uid = study_uid.strip()
    if len(study_uid) > 64 or not UID_PATTERN.match(study_uid):
        raise ValidationError("That is not a DICOM Study Instance UID.")
    with transaction.atomic():
        running = ImagingUpload.objects.filter(
            case=case,
            source=ImagingUpload.Source.PACS,
            pacs_study_uid=study_uid,
            pacs_connection=conf.key,
            status=ImagingUpload.RECEIVED,
        ).first()
        if running is not None:
            return running
        upload = ImagingUpload.objects.create(
            case=case,
            source=ImagingUpload.Source.PACS,
            pacs_study_uid=study_uid,
            pacs_connection=conf.key,
            label="Study from the PACS",
            incoming_key=uuid.uuid4().hex,
            counts={"names": []},
            created_by=user,
        )
        upload.enqueue_job(kind=IMPORT_JOB, user=user, message="Waiting to be retrieved")
    return upload


def pacs_import_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Job entry point: retrieve the study whole, then ingest it as an upload (safe to run twice).

    A second run after a complete retrieval finds the study in the incoming folder and goes
    straight to the ingest.
    """
    upload = (
        ImagingUpload.objects.select_related("case__patient", "created_by")
        .filter(pk=job.target_id)
        .first()
    )
    if upload is None:
        raise PermanentJobError("The import no longer exists.")
    if upload.is_finished:
        return {"status": upload.status}
    incoming = imaging_root() / "incoming" / upload.incoming_key
    if not incoming.is_dir():
        try:
            _retrieve_whole(upload, incoming, progress)
        except PacsError as exc:
            refused = isinstance(exc, _OtherPatient)
            upload.finish(
                ImagingUpload.Status.REFUSED if refused else ImagingUpload.Status.FAILED,
                error=str(exc)[:1000],
            )
            outcome = AccessLog.Outcome.DENIED if refused else AccessLog.Outcome.FAILURE
            _audit_retrieve(upload, outcome)
            raise PermanentJobError(str(exc)) from exc
        except Exception:
            upload.finish(
                ImagingUpload.Status.FAILED,
                error="The study could not be retrieved (internal error); nothing was stored.",
            )
            _audit_retrieve(upload, AccessLog.Outcome.FAILURE)
            raise
        _audit_retrieve(upload, AccessLog.Outcome.SUCCESS)

    def ingest_progress(percent: int, message: str) -> None:
        progress(50 + percent // 2, message)

    return services.upload_run(job, ingest_progress)


class _OtherPatient(PacsError):
    pass


def _audit_retrieve(upload: ImagingUpload, outcome: str) -> None:
    """The retrieve, with the patient: run by the job, so named by who asked for it."""
    audit_for_requester(
        requested_by=upload.created_by,
        action=AccessLog.Action.CREATE,
        category="imaging-pacs-retrieve",
        patient_id=upload.case.patient_id,
        object_ref=f"upload:{upload.pk}",
        outcome=outcome,
    )


def _retrieve_whole(upload: ImagingUpload, incoming: Path, progress: ProgressCallback) -> None:
    """Retrieve the study into a temporary folder, then rename it to ``incoming`` whole.

    Raises:
        PacsError: the PACS failed, the study is another patient's or too large; the
            temporary folder is gone and ``incoming`` was never created.
        WorkerStopping: the worker is stopping; the completed series stay for the next attempt.
    """
    transport = pacs_transport(pacs_conf(upload.pacs_connection))
    mrn = upload.case.patient.mrn.strip()
    progress(2, "Asking the PACS for the study")
    found = transport.find_studies(
        {"StudyInstanceUID": upload.pacs_study_uid},
        ["NumberOfStudyRelatedInstances", "ModalitiesInStudy", "StudyDate"],
        2,
    )
    if not found:
        raise PacsError("The PACS does not have this study (any more).")
    if any(dicom_json_text(item, "00100020") != mrn for item in found):
        raise _OtherPatient(
            "The PACS holds this study under another Patient ID than this patient's MRN; "
            "nothing was retrieved or stored."
        )
    summary = _study(found[0], set())
    part = private_dir(imaging_root() / "work" / f"pacs-{upload.incoming_key}")
    try:
        names, sources = _retrieve_series(transport, upload.pacs_study_uid, part, progress)
        if not names:
            raise PacsError("The PACS sent no images for this study; nothing was stored.")
        study = part / "study"
        shutil.rmtree(study, ignore_errors=True)
        study.mkdir(mode=0o700)
        for n, path in enumerate(sorted(part.glob("series-*/*.dcm")), start=1):
            path.rename(study / f"{n:06d}.dcm")
        private_dir(incoming.parent)
        study.rename(incoming)  # one step on one file system: the study arrives whole or not
    except Exception:
        shutil.rmtree(part, ignore_errors=True)
        raise
    # A worker that is stopping (WorkerStopping, a BaseException) keeps ``part``: the job's next
    # attempt resumes from its completed series.
    shutil.rmtree(part, ignore_errors=True)
    when = summary.date.isoformat() if summary.date else "unknown date"
    upload.label = f"PACS study of {when} ({', '.join(summary.modalities) or 'DICOM'})"[:200]
    upload.file_count = len(names)
    upload.size = transport.received
    upload.counts = {**upload.counts, "names": names}
    upload.pacs_instances = sources
    upload.save(update_fields=["label", "file_count", "size", "counts", "pacs_instances"])


def _retrieve_series(
    transport: PacsTransport,
    study_uid: str,
    part: Path,
    progress: ProgressCallback,
) -> tuple[list[str], list[list[str]]]:
    """Retrieve the study series by series into ``part``, resuming from completed series.

    Each series arrives in ``series-<n>.part/`` and is renamed ``series-<n>/`` (with the names
    problems are reported under) once complete; a series found complete from an earlier attempt
    is not asked for again, and its bytes count against the study's limit. Returns the names of
    all instances, in file order, and their ``[series, SOP instance, SOP class]`` UIDs.
    """
    listed = transport.find_series(study_uid)
    series_uids = sorted({dicom_json_text(item, "0020000E") for item in listed} - {""})
    names: list[str] = []
    sources: list[list[str]] = []
    for index, series_uid in enumerate(series_uids, start=1):
        done = part / f"series-{index:04d}"
        label = part / f"series-{index:04d}.uid"
        if done.is_dir() and label.is_file() and label.read_text() == series_uid:
            transport.received += sum(p.stat().st_size for p in done.glob("*.dcm"))
            if transport.received > transport.max_bytes:
                raise StudyTooLarge(too_large(transport.max_bytes))
            fetched = json.loads((done / "names.json").read_text())
            names += [name for name, _, _ in fetched]
            sources += [[series_uid, sop, sop_class] for _, sop, sop_class in fetched]
            continue
        shutil.rmtree(done, ignore_errors=True)
        incoming = part / f"series-{index:04d}.part"
        shutil.rmtree(incoming, ignore_errors=True)
        incoming.mkdir(mode=0o700)
        fetched = transport.fetch_series(study_uid, series_uid, incoming)
        (incoming / "names.json").write_text(json.dumps(fetched))
        label.write_text(series_uid)
        incoming.rename(done)
        names += [name for name, _, _ in fetched]
        sources += [[series_uid, sop, sop_class] for _, sop, sop_class in fetched]
        progress(
            2 + 47 * index // len(series_uids),
            f"Retrieved series {index} of {len(series_uids)} ({len(names)} images)",
        )
    return names, sources
