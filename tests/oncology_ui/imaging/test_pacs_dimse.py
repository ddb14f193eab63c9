"""Query/retrieve over DIMSE (C-FIND, C-GET) and PACS connections configured in the admin.

Against the live test Orthanc (its DICOM port answers C-FIND and C-GET from one registered AE
title); no mocks: a PACS that is down is a port nobody listens on, a slow one is Orthanc stopped
with SIGSTOP, an unknown AE title is Orthanc's own association rejection.
"""

from __future__ import annotations

import html
import socket
import threading
from collections.abc import Iterator

import pytest
from django.conf import LazySettings
from django.db import connection as db
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog
from oncology_ui.demodata.orthanc import (
    AE_TITLE,
    PASSWORD,
    QR_CALLING_AE,
    USERNAME,
    Orthanc,
    free_port,
)
from oncology_ui.imaging.connections import pacs_connections
from oncology_ui.imaging.models import ImagingUpload, PacsConnection
from oncology_ui.patients.models import Case
from tests.factories import CaseFactory, UserFactory
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.imaging.conftest import pacs_study_files
from tests.oncology_ui.imaging.test_pacs import (
    STS_002_STUDY,
    _audit_rows,
    _frozen,
    _nothing_stored,
    _patient_mrn,
    _rows,
    _study_uid,
    _upload_files,
)

pytestmark = pytest.mark.django_db
PASSWORD_ENV = "ONCOBOARD_TEST_PACS_PASSWORD"


@pytest.fixture
def dimse(orthanc: Orthanc, settings: LazySettings) -> Iterator[PacsConnection]:
    """A DIMSE connection to the test PACS in the database; no PACS in settings."""
    settings.PACS_DICOMWEB_URL = ""
    yield PacsConnection.objects.create(
        name="Orthanc DIMSE",
        transport=PacsConnection.Transport.DIMSE,
        host="127.0.0.1",
        port=orthanc.dicom_port,
        calling_ae_title=QR_CALLING_AE,
        called_ae_title=AE_TITLE,
        timeout_seconds=10,
        max_study_mb=64,
    )


def _find(client: Client, case: Case, conn: PacsConnection, **params: str) -> str:
    response = client.get(
        reverse("imaging-pacs", args=[case.pk]),
        {"find": "1", "connection": str(conn.pk), **params},
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _import(client: Client, case: Case, conn: PacsConnection, study_uid: str) -> ImagingUpload:
    response = client.post(
        reverse("imaging-pacs-import", args=[case.pk]),
        {"study_uid": study_uid, "connection": str(conn.pk)},
    )
    assert response.status_code == 302
    upload = ImagingUpload.objects.filter(case=case).latest("pk")
    assert upload.pacs_connection == str(conn.pk) and upload.job is not None
    job_run(upload.job.pk)
    upload.refresh_from_db()
    return upload


# --- DIMSE -------------------------------------------------------------------------------------


def test_c_find_lists_the_patients_study_by_mrn_and_accession(
    cast: Cast, pacs: Orthanc, dimse: PacsConnection, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    page = _find(oncologist_client, case, dimse)
    assert "1 study of MRN STS_002 in the PACS" in page
    assert "28 Jan 2006" in page and "<td>6</td>" in page and "<td>134</td>" in page
    assert f'value="{STS_002_STUDY}"' in page and f'name="connection" value="{dimse.pk}"' in page
    assert "STS_003" not in page
    accession = _find(oncologist_client, case, dimse, accession="A-NONE")
    assert "The PACS has no studies of MRN STS_002 with accession A-NONE" in accession
    rows = _audit_rows("imaging-pacs", action=AccessLog.Action.VIEW)
    assert len(rows) == 2 and all(r.patient_id_snapshot == cast.patient.pk for r in rows)


def test_a_c_get_import_stores_the_same_rows_as_an_upload(
    cast: Cast, pacs: Orthanc, dimse: PacsConnection, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "99000")
    upload = _import(oncologist_client, case, dimse, _study_uid(pacs, "99000"))
    assert upload.status == ImagingUpload.Status.STORED, (upload.error, upload.problems)
    assert upload.label == "PACS study of 2003-04-17 (CT)" and upload.file_count == 3
    assert upload.size > 1_000_000
    other = CaseFactory.create(patient=cast.patient)
    uploaded = _upload_files(other, pacs_study_files("99000"), cast.oncologist)
    assert _rows(case) == _rows(other) and _rows(case)["series"]
    assert uploaded.counts == upload.counts
    (retrieved,) = _audit_rows("imaging-pacs-retrieve")
    assert retrieved.outcome == AccessLog.Outcome.SUCCESS
    assert retrieved.patient_id_snapshot == cast.patient.pk
    assert "Imported" in _find(oncologist_client, case, dimse)


def test_a_c_move_import_to_our_temporary_scp_stores_the_same_rows(
    cast: Cast, pacs: Orthanc, dimse: PacsConnection, oncologist_client: Client
) -> None:
    dimse.move_port = pacs.move_port
    dimse.save()
    case = _patient_mrn(cast, "99000")
    upload = _import(oncologist_client, case, dimse, _study_uid(pacs, "99000"))
    assert upload.status == ImagingUpload.Status.STORED, (upload.error, upload.problems)
    assert upload.file_count == 3 and len(upload.pacs_instances) == 3
    other = CaseFactory.create(patient=cast.patient)
    _upload_files(other, pacs_study_files("99000"), cast.oncologist)
    assert _rows(case) == _rows(other) and _rows(case)["series"]


def test_another_patients_study_is_refused_over_dimse(
    cast: Cast, pacs: Orthanc, dimse: PacsConnection, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    upload = _import(oncologist_client, case, dimse, _study_uid(pacs, "STS_003"))
    assert upload.status == ImagingUpload.Status.REFUSED
    assert upload.error.startswith("The PACS holds this study under another Patient ID")
    _nothing_stored(case)
    (retrieved,) = _audit_rows("imaging-pacs-retrieve")
    assert retrieved.outcome == AccessLog.Outcome.DENIED


@pytest.mark.parametrize(
    ("change", "freeze", "error"),
    [
        ({"port": 0}, False, "The PACS could not be reached; it may be down. Try again later."),
        ({"timeout_seconds": 1}, True, "The PACS did not answer within 1 s"),
        ({"max_study_mb": 1}, False, "The study is larger than the 1 MB limit"),
        ({"calling_ae_title": "STRANGER"}, False, "The PACS refused OncoBoard's association"),
    ],
    ids=["pacs-down", "pacs-stops-answering", "study-over-the-size-limit", "unknown-ae-title"],
)
def test_a_failed_dimse_import_says_why_with_nothing_stored(
    cast: Cast,
    pacs: Orthanc,
    dimse: PacsConnection,
    oncologist_client: Client,
    change: dict[str, object],
    freeze: bool,
    error: str,
) -> None:
    case = _patient_mrn(cast, "STS_002")
    for field, value in change.items():
        setattr(dimse, field, free_port() if field == "port" else value)
    dimse.save()
    if freeze:
        with _frozen(pacs):
            upload = _import(oncologist_client, case, dimse, STS_002_STUDY)
    else:
        upload = _import(oncologist_client, case, dimse, STS_002_STUDY)
    assert upload.status == ImagingUpload.Status.FAILED
    assert upload.error.startswith(error), upload.error
    _nothing_stored(case)
    (retrieved,) = _audit_rows("imaging-pacs-retrieve")
    assert retrieved.outcome == AccessLog.Outcome.FAILURE


def test_a_peer_that_closes_the_association_at_once_is_a_refusal_not_a_timeout(
    cast: Cast, dimse: PacsConnection, oncologist_client: Client
) -> None:
    # A listener that accepts and hangs up at once, as Orthanc sometimes answers an unknown AE
    # title under load: the PACS answered "no"; "did not answer within 10 s" would be false.
    listener = socket.create_server(("127.0.0.1", 0))
    hang_ups = threading.Thread(target=_hang_up_on_everyone, args=(listener,), daemon=True)
    hang_ups.start()
    try:
        dimse.port = listener.getsockname()[1]
        dimse.timeout_seconds = 10
        dimse.save()
        upload = _import(oncologist_client, _patient_mrn(cast, "STS_002"), dimse, STS_002_STUDY)
    finally:
        listener.close()
    assert upload.status == ImagingUpload.Status.FAILED
    assert upload.error.startswith("The PACS refused OncoBoard's association"), upload.error


def _hang_up_on_everyone(listener: socket.socket) -> None:
    while True:
        try:
            peer, _ = listener.accept()
        except OSError:  # the listener was closed: the test is over
            return
        peer.close()


def test_a_pacs_down_at_find_gives_a_message_not_an_error_page(
    cast: Cast, pacs: Orthanc, dimse: PacsConnection, oncologist_client: Client
) -> None:
    dimse.port = free_port()
    dimse.save()
    page = _find(oncologist_client, _patient_mrn(cast, "STS_002"), dimse)
    assert "The PACS could not be reached; it may be down. Try again later." in page
    (row,) = _audit_rows("imaging-pacs")
    assert row.outcome == AccessLog.Outcome.FAILURE


# --- connections -------------------------------------------------------------------------------


def test_the_case_page_chooses_among_the_connections(
    cast: Cast,
    pacs: Orthanc,
    dimse: PacsConnection,
    settings: LazySettings,
    oncologist_client: Client,
) -> None:
    """The connection in settings works beside the admin's; both are offered, settings first."""
    settings.PACS_DICOMWEB_URL = pacs.dicomweb_url
    assert [c.key for c in pacs_connections()] == ["settings", str(dimse.pk)]
    section = reverse("patients-case-section", args=[cast.case.pk, "imaging"])
    page = oncologist_client.get(section).content.decode()
    assert '<select id="pacs-connection" name="connection">' in page
    assert f'<option value="{dimse.pk}">Orthanc DIMSE</option>' in page
    case = _patient_mrn(cast, "STS_002")
    by_settings = oncologist_client.get(
        reverse("imaging-pacs", args=[case.pk]), {"find": "1", "connection": "settings"}
    ).content.decode()
    assert STS_002_STUDY in by_settings and 'name="connection" value="settings"' in by_settings
    assert STS_002_STUDY in _find(oncologist_client, case, dimse)


def test_a_disabled_or_unknown_connection_is_refused(
    cast: Cast, dimse: PacsConnection, oncologist_client: Client
) -> None:
    dimse.enabled = False
    dimse.save()
    response = oncologist_client.post(
        reverse("imaging-pacs-import", args=[cast.case.pk]),
        {"study_uid": STS_002_STUDY, "connection": str(dimse.pk)},
        follow=True,
    )
    assert "That PACS connection is no longer configured; choose another." in html.unescape(
        response.content.decode()
    )
    assert not ImagingUpload.objects.exists()


def test_the_password_comes_from_the_environment_and_never_reaches_the_database(
    cast: Cast,
    orthanc: Orthanc,
    settings: LazySettings,
    monkeypatch: pytest.MonkeyPatch,
    oncologist_client: Client,
) -> None:
    settings.PACS_DICOMWEB_URL = ""
    conn = PacsConnection.objects.create(
        name="Orthanc DICOMweb",
        transport=PacsConnection.Transport.DICOMWEB,
        url=orthanc.dicomweb_url,
        username=USERNAME,
        password_env=PASSWORD_ENV,
        timeout_seconds=10,
    )
    case = _patient_mrn(cast, "STS_002")
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    missing = _find(oncologist_client, case, conn)
    assert (
        "The password of the PACS connection 'Orthanc DICOMweb' is missing: the environment "
        f"variable {PASSWORD_ENV} is not set on this server" in missing
    )
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert "1 study of MRN STS_002 in the PACS" in _find(oncologist_client, case, conn)
    upload = _import(
        oncologist_client, _patient_mrn(cast, "99000"), conn, _study_uid(orthanc, "99000")
    )
    assert upload.status == ImagingUpload.Status.STORED
    with db.cursor() as cursor:
        for table in ("imaging_pacsconnection", "imaging_imagingupload", "core_job"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own table names
            assert PASSWORD not in repr(cursor.fetchall()), table


def test_the_admin_configures_a_connection_by_the_name_of_its_password_variable(
    cast: Cast, orthanc: Orthanc
) -> None:
    root = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client = signed_in_client(root)
    form = client.get(reverse("admin:imaging_pacsconnection_add")).content.decode()
    assert 'name="password_env"' in form and 'name="password"' not in form
    fields = {
        "name": "Radiology PACS",
        "transport": "dimse",
        "url": "",
        "username": "",
        "host": "127.0.0.1",
        "port": str(orthanc.dicom_port),
        "calling_ae_title": QR_CALLING_AE,
        "called_ae_title": "",
        "password_env": "",
        "tls_verify": "on",
        "tls_ca_bundle": "",
        "timeout_seconds": "30",
        "max_study_mb": "2048",
        "enabled": "on",
    }
    refused = client.post(reverse("admin:imaging_pacsconnection_add"), fields)
    assert "A DIMSE connection needs the PACS&#x27;s AE title." in refused.content.decode()
    bad_env = client.post(
        reverse("admin:imaging_pacsconnection_add"),
        {**fields, "called_ae_title": AE_TITLE, "username": "u", "password_env": "s3cret pass"},
    )
    assert "The NAME of an environment variable" in bad_env.content.decode()
    assert not PacsConnection.objects.exists()
    saved = client.post(
        reverse("admin:imaging_pacsconnection_add"), {**fields, "called_ae_title": AE_TITLE}
    )
    assert saved.status_code == 302
    assert PacsConnection.objects.get().called_ae_title == AE_TITLE
