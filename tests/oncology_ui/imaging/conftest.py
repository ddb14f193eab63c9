"""Helpers for the imaging tests: real DICOM through the real upload service and ingest job."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.imaging import services
from oncology_ui.imaging.models import ImagingUpload
from oncology_ui.imaging.selectors import VOLUME_CACHE
from oncology_ui.patients.models import Case
from tests.factories import UserFactory
from tests.oncology_ui.conftest import Cast

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
