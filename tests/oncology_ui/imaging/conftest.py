"""Helpers for the imaging tests: real DICOM through the real upload service and ingest job."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.demodata.orthanc import (
    PASSWORD,
    USERNAME,
    Orthanc,
    OrthancMissing,
    orthanc_load,
    orthanc_start,
    orthanc_stop,
)
from oncology_ui.imaging import services
from oncology_ui.imaging.models import ImagingUpload
from oncology_ui.imaging.selectors import VOLUME_CACHE
from oncology_ui.patients.models import Case
from tests.factories import UserFactory
from tests.oncology_ui.conftest import Cast
from tests.paths import SHARED_DATA

STS = Path(__file__).resolve().parents[2] / "fixtures" / "dicom" / "sts_002"


def sts_files(*parts: str) -> list[Path]:
    """Files of the sarcoma fixture under ``parts`` (e.g. ``"CT"``), sorted."""
    return sorted(p for part in parts for p in (STS / part).rglob("*.dcm"))


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sts_zip(*parts: str) -> bytes:
    return zip_of({p.relative_to(STS).as_posix(): p.read_bytes() for p in sts_files(*parts)})


def ingest(case: Case, files: dict[str, bytes], user: User | None = None) -> ImagingUpload:
    """Receive ``files`` as one upload for ``case`` and run its job now (tests never commit)."""
    uploads = [SimpleUploadedFile(name, data) for name, data in files.items()]
    upload = services.upload_receive(case=case, user=user, files=uploads)
    assert upload.job is not None
    job_run(upload.job.pk)
    upload.refresh_from_db()
    return upload


@pytest.fixture(autouse=True)
def _fresh_volume_cache() -> None:
    """Series ids repeat across tests (rolled-back databases); cached volumes must not."""
    VOLUME_CACHE.clear()


@pytest.fixture
def radiologist(cast: Cast) -> User:
    return UserFactory.create(username="rad", role=roles.RADIOLOGIST, teams=[cast.breast_team])


@pytest.fixture
def sts_upload(cast: Cast) -> ImagingUpload:
    """The sarcoma CT, PET and both RTSTRUCTs ingested into the cast's own-team case."""
    upload = ingest(cast.case, {"sts_002.zip": sts_zip("CT", "PET")}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED, (upload.error, upload.problems)
    return upload


# --- the real PACS -----------------------------------------------------------------------------

SAMPLES = SHARED_DATA / "dicom-samples"
STS_SAMPLES = SAMPLES / "tcia-soft-tissue-sarcoma-mirp"


def pacs_study_files(patient_id: str) -> list[Path]:
    """The shared sample files the test PACS holds for ``patient_id``.

    ``STS_002``, ``STS_003``: the sarcoma patients' whole studies (CT, MR, PET, three RTSTRUCTs);
    ``99000``: three CT slices (dcmqi), a study small enough for fast import tests (its liver SEG
    is left out: measuring that large region alone takes the ingest 10-20 s).
    """
    if patient_id == "99000":
        return sorted((SAMPLES / "dcmqi" / "ct-3slice").glob("*.dcm"))
    return sorted((STS_SAMPLES / patient_id).rglob("*.dcm"))


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc (DICOMweb, basic auth, loopback only) holding three patients' studies.

    Started once per test session with a throw-away storage folder and stopped at the end. A
    machine without Orthanc or without the shared samples fails these tests: they never skip.
    """
    files = [p for patient in ("STS_002", "STS_003", "99000") for p in pacs_study_files(patient)]
    if not files or not all(p.is_file() for p in files):
        pytest.fail(f"the DICOM samples are missing under {SAMPLES} (see ../shared/data)")
    yield from orthanc_serving(tmp_path_factory.mktemp("orthanc"), files)


def orthanc_serving(
    storage: Path, files: list[Path], *, password: str = PASSWORD, patient_id: str = ""
) -> Iterator[Orthanc]:
    """An Orthanc storing under ``storage`` and holding every one of ``files`` while the
    generator runs (``patient_id``: filed under that Patient ID instead of their own).

    A machine without Orthanc fails the test: it never skips.
    """
    try:
        server = orthanc_start(storage, password=password)
    except OrthancMissing as exc:
        pytest.fail(str(exc))
    try:
        assert orthanc_load(server, files, patient_id=patient_id) == len(files)
        yield server
    finally:
        orthanc_stop(server)


def use_pacs(server: Orthanc, settings: LazySettings) -> Orthanc:
    """The app configured to use ``server`` as its PACS (short timeout, small study limit)."""
    settings.PACS_DICOMWEB_URL = server.dicomweb_url
    settings.PACS_USERNAME = USERNAME
    settings.PACS_PASSWORD = server.password
    settings.PACS_TIMEOUT_SECONDS = 10
    settings.PACS_MAX_STUDY_MB = 64
    settings.PACS_TLS_VERIFY = True
    settings.PACS_TLS_CA_BUNDLE = ""
    return server


@pytest.fixture
def pacs(orthanc: Orthanc, settings: LazySettings) -> Orthanc:
    """The app configured to use the test PACS (short timeout, small study limit)."""
    return use_pacs(orthanc, settings)
