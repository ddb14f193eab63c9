"""Receive studies pushed by the PACS or a modality (DICOM C-STORE SCP) into the upload's ingest.

Two halves, so the network never waits on the database:

1. the receiver (:class:`StoreReceiver`, run by ``manage.py dicom_scp``) accepts associations only
   from the configured calling AE titles, writes each instance as sent (never decoded to disk)
   into a private spool folder per association and patient, and refuses instances past the
   association's byte limit (status A700, out of resources). Only a *released* association with
   nothing refused is handed over (its folder renamed into ``spool/ready/``); an aborted one, or
   one with refused instances, is deleted whole: a half study is never stored;
2. :func:`scp_spool_drain` hands each ready folder to the ingest: the patient is found by MRN
   (the files' Patient ID); the folder becomes an :class:`ImagingUpload` (``source=scp``) of the
   patient's newest case and is ingested like an upload, files of any other patient refused.
   A Patient ID that is no patient here (or several) is discarded, logged and audited without
   its value.

The command drains after every released association; tests drain in their own thread.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from oncology_ui.core.audit import audit_record
from oncology_ui.core.models import AccessLog
from oncology_ui.imaging.models import ImagingUpload
from oncology_ui.imaging.services import INGEST_JOB
from oncology_ui.imaging.storage import imaging_root, private_dir
from oncology_ui.patients.models import Case, Patient

logger = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
_MB = 1024 * 1024


@dataclass(frozen=True)
class ScpSettings:
    """The C-STORE SCP: our AE title, where it listens, whom it accepts, and its limits."""

    ae_title: str
    host: str
    port: int
    allowed_calling: tuple[str, ...]
    max_association_bytes: int
    max_associations: int
    timeout_seconds: int


def scp_settings() -> ScpSettings:
    return ScpSettings(
        ae_title=settings.DICOM_SCP_AE_TITLE,
        host=settings.DICOM_SCP_HOST,
        port=settings.DICOM_SCP_PORT,
        allowed_calling=tuple(settings.DICOM_SCP_ALLOWED_AE_TITLES),
        max_association_bytes=settings.DICOM_SCP_MAX_ASSOCIATION_MB * _MB,
        max_associations=settings.DICOM_SCP_MAX_ASSOCIATIONS,
        timeout_seconds=settings.DICOM_SCP_TIMEOUT_SECONDS,
    )


def _spool() -> Path:
    return private_dir(imaging_root() / "spool")


@dataclass
class _Received:
    """What one association has sent so far."""

    folder: Path
    calling: str
    size: int = 0
    count: int = 0
    refused: int = 0
    patients: dict[str, str] = field(default_factory=dict)  # Patient ID -> sub-folder name


class StoreReceiver:
    """The C-STORE handlers of one server (thread-safe: each association has its own thread)."""

    def __init__(self, conf: ScpSettings, *, on_ready: Callable[[], object] | None = None) -> None:
        self.conf = conf
        self.on_ready = on_ready
        self._lock = threading.Lock()
        self._open: dict[int, _Received] = {}

    def _received(self, event: Any) -> _Received:
        key = id(event.assoc)
        with self._lock:
            if key not in self._open:
                folder = private_dir(_spool() / "receiving" / uuid.uuid4().hex)
                self._open[key] = _Received(folder, str(event.assoc.requestor.ae_title).strip())
            return self._open[key]

    def handle_store(self, event: Any) -> int:
        """Write one instance as sent; refuse it past the association's byte limit."""
        received = self._received(event)
        try:
            patient_id = str(event.dataset.get("PatientID", "") or "").strip()
        except Exception:  # a dataset pynetdicom cannot decode
            return CANNOT_UNDERSTAND
        if not patient_id:
            return CANNOT_UNDERSTAND
        data = event.encoded_dataset()
        if received.refused or received.size + len(data) > self.conf.max_association_bytes:
            received.refused += 1
            return OUT_OF_RESOURCES
        name = received.patients.setdefault(
            patient_id, hashlib.sha256(patient_id.encode()).hexdigest()[:16]
        )
        folder = private_dir(received.folder / name)
        received.count += 1
        (folder / f"{received.count:06d}.dcm").write_bytes(data)
        received.size += len(data)
        return SUCCESS

    def handle_released(self, event: Any) -> None:
        """Hand the association's files over, one folder per patient, whole."""
        with self._lock:
            received = self._open.pop(id(event.assoc), None)
        if received is None:
            return
        if received.refused:
            # Some instances were refused: the rest is a half study, which is never stored.
            shutil.rmtree(received.folder, ignore_errors=True)
            logger.warning(
                "C-STORE from %s: %d instances refused past the %d MB limit; the association's "
                "%d others were dropped too",
                received.calling,
                received.refused,
                self.conf.max_association_bytes // _MB,
                received.count,
            )
            return
        ready = private_dir(_spool() / "ready")
        for patient_id, name in received.patients.items():
            target = ready / uuid.uuid4().hex
            target.mkdir(mode=0o700)
            (target / "patient_id").write_text(patient_id)
            (target / "calling_ae").write_text(received.calling)
            (received.folder / name).rename(target / "files")
        shutil.rmtree(received.folder, ignore_errors=True)
        logger.info("C-STORE from %s: %d instances received", received.calling, received.count)
        if self.on_ready is not None:
            self.on_ready()

    def handle_closed(self, event: Any, *, release_grace: float = 2.0) -> None:
        """The connection closed: a release's last step, or an abort without an A-ABORT.

        After answering a release the peer closes at once, and pynetdicom may report the close
        (its network thread) before the release (the association's thread): dropping the files
        then lost whole released studies under load. So the close waits, briefly, for the
        release (or an abort) to be handled, and drops the files only if neither comes.
        """
        key = id(event.assoc)
        deadline = time.monotonic() + release_grace
        while time.monotonic() < deadline:
            if getattr(event.assoc, "is_released", False):
                return
            with self._lock:
                if key not in self._open:
                    return
            time.sleep(0.02)
        self.handle_aborted(event)

    def handle_aborted(self, event: Any) -> None:
        """An aborted association leaves nothing: a half study is never handed over."""
        with self._lock:
            received = self._open.pop(id(event.assoc), None)
        if received is not None:
            shutil.rmtree(received.folder, ignore_errors=True)
            logger.warning("C-STORE from %s aborted; its files were dropped", received.calling)


def scp_server(conf: ScpSettings, receiver: StoreReceiver, *, block: bool) -> Any:
    """Start the SCP (pynetdicom); with ``block=False`` return the running server."""
    from pynetdicom import AE, AllStoragePresentationContexts, evt

    if not conf.allowed_calling:
        raise ValueError("DICOM_SCP_ALLOWED_AE_TITLES is empty: the SCP would accept nobody")
    ae = AE(ae_title=conf.ae_title)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.require_calling_aet = list(conf.allowed_calling)
    ae.require_called_aet = True
    ae.maximum_associations = conf.max_associations
    ae.acse_timeout = conf.timeout_seconds
    ae.dimse_timeout = conf.timeout_seconds
    ae.network_timeout = conf.timeout_seconds
    handlers: list[Any] = [
        (evt.EVT_C_STORE, receiver.handle_store),
        (evt.EVT_RELEASED, receiver.handle_released),
        (evt.EVT_ABORTED, receiver.handle_aborted),
        # A connection closed without release or abort: what it sent is dropped as well.
        (evt.EVT_CONN_CLOSE, receiver.handle_closed),
    ]
    return ae.start_server((conf.host, conf.port), block=block, evt_handlers=handlers)


# Two associations released at once drain in two threads: one at a time, so no folder is
# handed over twice.
_DRAIN_LOCK = threading.Lock()


def scp_spool_drain() -> list[ImagingUpload]:
    """Turn every ready folder into an upload of its patient's newest case and queue its ingest.

    Returns the uploads created. A folder whose Patient ID matches no patient (or several, at
    several sites) is deleted, logged and audited without the ID.
    """
    with _DRAIN_LOCK:
        return _drain_ready(_spool() / "ready")


def _drain_ready(ready: Path) -> list[ImagingUpload]:
    created: list[ImagingUpload] = []
    for folder in sorted(ready.iterdir()) if ready.is_dir() else []:
        try:
            patient_id = (folder / "patient_id").read_text()
            calling = (folder / "calling_ae").read_text()
        except OSError:
            continue  # being written by the receiver right now
        upload = _hand_over(folder, patient_id, calling)
        if upload is not None:
            created.append(upload)
        shutil.rmtree(folder, ignore_errors=True)
    return created


def _hand_over(folder: Path, patient_id: str, calling: str) -> ImagingUpload | None:
    patients = list(Patient.objects.filter(mrn=patient_id)[:2])
    case = (
        Case.objects.filter(patient=patients[0]).order_by("-created_at", "-pk").first()
        if len(patients) == 1
        else None
    )
    if case is None:
        logger.warning(
            "C-STORE from %s: a study of a Patient ID that matches %s here was discarded",
            calling,
            "no case" if len(patients) == 1 else ("no patient" if not patients else "two patients"),
        )
        audit_record(
            request=None,
            action=AccessLog.Action.CREATE,
            category="imaging-scp",
            object_ref=f"ae:{calling}"[:80],
            outcome=AccessLog.Outcome.FAILURE,
            username=f"DICOM {calling}"[:150],
        )
        return None
    files = sorted((folder / "files").glob("*.dcm"))
    key = uuid.uuid4().hex
    incoming = private_dir(imaging_root() / "incoming") / key
    (folder / "files").rename(incoming)
    try:
        with transaction.atomic():
            upload = ImagingUpload.objects.create(
                case=case,
                source=ImagingUpload.Source.SCP,
                label=f"Received from {calling}"[:200],
                incoming_key=key,
                file_count=len(files),
                size=sum(p.stat().st_size for p in incoming.iterdir()),
                counts={"names": []},
            )
            upload.enqueue_job(kind=INGEST_JOB, message="Waiting")
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    audit_record(
        request=None,
        action=AccessLog.Action.CREATE,
        category="imaging-scp",
        patient_id=case.patient_id,
        object_ref=f"upload:{upload.pk}",
        username=f"DICOM {calling}"[:150],
    )
    return upload
