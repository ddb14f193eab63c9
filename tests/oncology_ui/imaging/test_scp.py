"""Studies pushed to OncoBoard's C-STORE SCP by a real PACS (the test Orthanc as the sender).

The SCP runs in this process on a free loopback port; Orthanc sends a study to it (its REST
``/modalities/<name>/store``, calling AE title ``ORTHANC``). The spool is drained in the test's
own thread, as the command drains it after each association.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import LazySettings
from django.core.management import CommandError, call_command

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog
from oncology_ui.demodata.orthanc import PASSWORD, USERNAME, Orthanc, free_port
from oncology_ui.imaging.models import ImagingSeries, ImagingUpload
from oncology_ui.imaging.scp import StoreReceiver, scp_server, scp_settings, scp_spool_drain
from oncology_ui.imaging.storage import imaging_root
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def _orthanc_study_id(server: Orthanc, mrn: str) -> str:
    answer = requests.get(
        f"{server.url}/patients",
        params={"expand": "1"},
        auth=(USERNAME, PASSWORD),
        timeout=10,
    )
    answer.raise_for_status()
    (patient,) = [p for p in answer.json() if p["MainDicomTags"]["PatientID"] == mrn]
    (study,) = patient["Studies"]
    return str(study)


def _push(server: Orthanc, port: int, mrn: str) -> requests.Response:
    """Orthanc sends the patient's study to our SCP (C-STORE SCU, synchronous)."""
    auth = (USERNAME, PASSWORD)
    requests.put(
        f"{server.url}/modalities/oncoboard",
        json={"AET": "ONCOBOARD", "Host": "127.0.0.1", "Port": port},
        auth=auth,
        timeout=10,
    ).raise_for_status()
    return requests.post(
        f"{server.url}/modalities/oncoboard/store",
        json={"Resources": [_orthanc_study_id(server, mrn)], "Synchronous": True},
        auth=auth,
        timeout=60,
    )


def _spooled(kind: str) -> list[Path]:
    folder = imaging_root() / "spool" / kind
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _wait_for_release(receiver: StoreReceiver, seconds: float = 10.0) -> None:
    """The SCU's REST call returns when the last C-STORE is answered; release follows."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not receiver._open and not _spooled("receiving"):
            return
        time.sleep(0.05)
    raise AssertionError("the association was not released")


@pytest.fixture
def scp(orthanc: Orthanc, settings: LazySettings) -> Iterator[tuple[int, StoreReceiver]]:
    """Our SCP on a free port, accepting only Orthanc's AE title."""
    settings.DICOM_SCP_AE_TITLE = "ONCOBOARD"
    settings.DICOM_SCP_HOST = "127.0.0.1"
    settings.DICOM_SCP_PORT = free_port()
    settings.DICOM_SCP_ALLOWED_AE_TITLES = ["ORTHANC"]
    settings.DICOM_SCP_MAX_ASSOCIATION_MB = 64
    settings.DICOM_SCP_TIMEOUT_SECONDS = 10
    conf = scp_settings()
    receiver = StoreReceiver(conf)
    server = scp_server(conf, receiver, block=False)
    try:
        yield conf.port, receiver
    finally:
        server.shutdown()


def _audit(**fields: Any) -> list[AccessLog]:
    return list(AccessLog.objects.filter(category="imaging-scp", **fields))


def test_a_pushed_study_is_ingested_for_the_patient_of_its_mrn(
    cast: Cast, orthanc: Orthanc, scp: tuple[int, StoreReceiver]
) -> None:
    port, receiver = scp
    cast.patient.mrn = "99000"
    cast.patient.save(update_fields=["mrn"])
    answer = _push(orthanc, port, "99000")
    assert answer.status_code == 200, answer.text
    _wait_for_release(receiver)
    (upload,) = scp_spool_drain()
    assert upload.case == cast.case and upload.source == ImagingUpload.Source.SCP
    assert upload.label == "Received from ORTHANC" and upload.file_count == 3
    assert upload.kind_label == "DICOM push"
    assert _spooled("ready") == [] and _spooled("receiving") == []
    (row,) = _audit()
    assert row.patient_id_snapshot == cast.patient.pk and row.username == "DICOM ORTHANC"
    assert row.outcome == AccessLog.Outcome.SUCCESS
    assert upload.job is not None
    job_run(upload.job.pk)
    upload.refresh_from_db()
    assert upload.status == ImagingUpload.Status.STORED, (upload.error, upload.problems)
    (series,) = ImagingSeries.objects.filter(study__case=cast.case)
    assert series.modality == "CT" and series.slice_count == 3


def test_a_calling_ae_title_not_allowed_is_refused(
    cast: Cast, orthanc: Orthanc, settings: LazySettings
) -> None:
    settings.DICOM_SCP_PORT = free_port()
    settings.DICOM_SCP_ALLOWED_AE_TITLES = ["MODALITY1"]
    conf = scp_settings()
    receiver = StoreReceiver(conf)
    server = scp_server(conf, receiver, block=False)
    try:
        cast.patient.mrn = "99000"
        cast.patient.save(update_fields=["mrn"])
        answer = _push(orthanc, conf.port, "99000")
    finally:
        server.shutdown()
    assert answer.status_code != 200  # Orthanc reports the rejected association
    assert _spooled("ready") == [] and scp_spool_drain() == []
    assert not ImagingUpload.objects.exists()


def test_a_study_of_no_patient_here_is_discarded_and_audited_without_its_id(
    cast: Cast, orthanc: Orthanc, scp: tuple[int, StoreReceiver]
) -> None:
    port, receiver = scp
    assert _push(orthanc, port, "99000").status_code == 200
    _wait_for_release(receiver)
    assert scp_spool_drain() == [] and not ImagingUpload.objects.exists()
    assert _spooled("ready") == []
    (row,) = _audit()
    assert row.outcome == AccessLog.Outcome.FAILURE and row.patient_id_snapshot is None
    assert "99000" not in row.object_ref


def test_the_command_refuses_to_start_without_allowed_ae_titles(settings: LazySettings) -> None:
    settings.DICOM_SCP_ALLOWED_AE_TITLES = []
    with pytest.raises(CommandError, match="DICOM_SCP_ALLOWED_AE_TITLES"):
        call_command("dicom_scp")


@pytest.mark.slow
def test_an_association_past_its_byte_limit_leaves_nothing(
    cast: Cast, orthanc: Orthanc, scp: tuple[int, StoreReceiver], settings: LazySettings
) -> None:
    port, receiver = scp
    receiver.conf = replace(receiver.conf, max_association_bytes=1_000_000)
    cast.patient.mrn = "STS_002"
    cast.patient.save(update_fields=["mrn"])
    answer = _push(orthanc, port, "STS_002")  # about 4 MB: the instances past 1 MB are refused
    assert answer.status_code != 200
    _wait_for_release(receiver)
    assert _spooled("ready") == [] and _spooled("receiving") == []
    assert scp_spool_drain() == [] and not ImagingUpload.objects.exists()


class _Association:
    """pynetdicom's association as the handlers see it: an identity, a requestor, a flag."""

    def __init__(self) -> None:
        self.is_released = False
        self.requestor = type("Requestor", (), {"ae_title": "ORTHANC"})()


class _StoreEvent:
    def __init__(self, assoc: _Association, patient_id: str) -> None:
        from pydicom.dataset import Dataset

        self.assoc = assoc
        self.dataset = Dataset()
        self.dataset.PatientID = patient_id

    def encoded_dataset(self) -> bytes:
        return b"DICM instance bytes"


def test_a_close_reported_before_the_release_keeps_the_released_study(
    settings: LazySettings,
) -> None:
    # pynetdicom reports the peer's close from its network thread and the release from the
    # association's thread; under load the close came first and the whole study was dropped.
    import threading

    settings.DICOM_SCP_ALLOWED_AE_TITLES = ["ORTHANC"]
    receiver = StoreReceiver(scp_settings())
    assoc = _Association()
    event = _StoreEvent(assoc, "99000")
    assert receiver.handle_store(event) == 0

    def release_a_little_later() -> None:
        time.sleep(0.2)
        assoc.is_released = True
        receiver.handle_released(event)

    releasing = threading.Thread(target=release_a_little_later)
    releasing.start()
    receiver.handle_closed(event)
    releasing.join()
    (ready,) = _spooled("ready")
    assert (ready / "patient_id").read_text() == "99000"
    assert not _spooled("receiving")


def test_a_close_with_no_release_drops_what_the_association_sent(settings: LazySettings) -> None:
    settings.DICOM_SCP_ALLOWED_AE_TITLES = ["ORTHANC"]
    receiver = StoreReceiver(scp_settings())
    event = _StoreEvent(_Association(), "99000")
    assert receiver.handle_store(event) == 0
    receiver.handle_closed(event, release_grace=0.1)
    assert not _spooled("ready") and not _spooled("receiving")
