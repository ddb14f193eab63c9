"""Pathology test fixtures: the real slides, a processed slide's files, clients per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from oncology_ui.core.jobs import job_run
from oncology_ui.demodata.orthanc import Orthanc
from oncology_ui.pathology import services
from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.imaging.conftest import orthanc_serving, use_pacs
from tests.oncology_ui.pathology.factories import (
    ProcessedFiles,
    SlideFactory,
    processed_slide_files,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slides"
CMU = FIXTURES / "CMU-1-Small-Region.svs"
OME = FIXTURES / "OS-1-detail.ome.tif"
IHC = FIXTURES / "OS-2-vsi.ome.tif"


@pytest.fixture(scope="session")
def processed_files(tmp_path_factory: pytest.TempPathFactory) -> ProcessedFiles:
    return processed_slide_files(tmp_path_factory.mktemp("processed"))


@pytest.fixture
def ready_slide(cast: Cast, processed_files: ProcessedFiles) -> Slide:
    return SlideFactory.ready(files=processed_files, case=cast.case, created_by=cast.pathologist)


@pytest.fixture
def other_team_slide(cast: Cast, processed_files: ProcessedFiles) -> Slide:
    return SlideFactory.ready(files=processed_files, case=cast.other_case)


@pytest.fixture
def pathologist_client(cast: Cast) -> Client:
    client = signed_in_client(cast.pathologist)
    return client


def ingest(case: Case, data: bytes, name: str = "slide.svs", user: object = None) -> Slide:
    """Receive ``data`` as a plain-form upload and run its ingest job now (tests never commit)."""
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    slide = services.slide_receive_file(case=case, user=user, upload=upload, name=name)  # type: ignore[arg-type]
    assert slide.job is not None
    job_run(slide.job.pk)
    slide.refresh_from_db()
    return slide


def media_files(root: Path) -> list[str]:
    """Every file under the pathology media folder, relative, sorted."""
    base = root / "pathology"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


# --- DICOM whole-slide images ------------------------------------------------------------------


@pytest.fixture(scope="session")
def dicom_slide(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The smallest shared SVS as DICOM WSI instances of :data:`dicomize.PATIENT_ID`."""
    from tests.inference.slides.dicomize import SMALL_SVS, dicomize

    return dicomize(SMALL_SVS, tmp_path_factory.mktemp("dicom-slide") / "slide")


@pytest.fixture(scope="session")
def slide_orthanc(
    tmp_path_factory: pytest.TempPathFactory, dicom_slide: list[Path]
) -> Iterator[Orthanc]:
    """A DICOMweb whole-slide store (Orthanc) holding the dicomized slide and another patient's."""
    from tests.inference.slides.dicomize import SMALL_SVS, dicomize

    other = dicomize(
        SMALL_SVS, tmp_path_factory.mktemp("dicom-other") / "slide", patient_id="OTHER-77"
    )
    yield from orthanc_serving(tmp_path_factory.mktemp("slide-orthanc"), dicom_slide + other)


@pytest.fixture
def slide_pacs(slide_orthanc: Orthanc, settings: LazySettings) -> Orthanc:
    """The app configured to use the slide store (short timeout)."""
    return use_pacs(slide_orthanc, settings)
