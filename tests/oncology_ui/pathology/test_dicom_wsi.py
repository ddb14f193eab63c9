"""DICOM whole-slide images through the slide ingest: a ZIP, several files, and the PACS import.

The slide is the smallest shared SVS made into DICOM by Debian's OrthancWSIDicomizer; the PACS is
a real Orthanc with its DICOMweb plugin holding it and another patient's copy.
"""

from __future__ import annotations

import html
import zipfile
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.demodata.orthanc import PASSWORD, USERNAME, Orthanc
from oncology_ui.pathology import pacs, services
from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case
from tests.inference.slides.dicomize import ACCESSION, PATIENT_ID, PATIENT_NAME, zip_files
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.pathology.conftest import ingest, media_files
from tests.paths import FIXTURES

pytestmark = pytest.mark.django_db
SECRETS = (PATIENT_ID, PATIENT_NAME, ACCESSION, "19610203")


def _patient(cast: Cast, mrn: str = PATIENT_ID) -> Case:
    cast.patient.mrn = mrn
    cast.patient.save(update_fields=["mrn"])
    return cast.case


def _nothing_kept(slide: Slide, root: Path) -> None:
    assert slide.status == Slide.Status.FAILED
    assert slide.original_path == "" and slide.derivative_path == ""
    assert media_files(root) == []


def _no_secret_stored(slide: Slide, root: Path) -> None:
    """Neither the stored files nor the slide's row hold a DICOM patient attribute."""
    for relative in media_files(root):
        data = (root / "pathology" / relative).read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, (relative, secret)
    row = str(Slide.objects.filter(pk=slide.pk).values().get())
    assert not any(secret in row for secret in SECRETS)


@pytest.mark.slow
def test_a_zipped_dicom_slide_is_ingested_like_its_svs(
    cast: Cast, dicom_slide: list[Path], _media_root: Path
) -> None:
    case = _patient(cast)
    slide = ingest(case, zip_files(dicom_slide), "slide-folder.zip", cast.pathologist)
    svs = ingest(case, (FIXTURES / "slides" / "CMU-1-Small-Region.svs").read_bytes())
    assert slide.status == Slide.Status.READY, slide.error
    assert (slide.format, slide.file_kind) == ("dicom-wsi", "zip")
    assert (slide.width, slide.height, slide.mpp) == (svs.width, svs.height, pytest.approx(0.499))
    assert slide.tile_count == svs.tile_count
    assert slide.stain_guess == Slide.Stain.HE
    assert slide.original_path == ""
    _no_secret_stored(slide, _media_root)


def test_the_files_of_a_slide_sent_together_are_one_slide(
    cast: Cast, dicom_slide: list[Path], pathologist_client: Client, _media_root: Path
) -> None:
    case = _patient(cast)
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in dicom_slide]
    response = pathologist_client.post(
        reverse("pathology-upload-dicom", args=[case.pk]), {"dicom_files": files}
    )
    assert response.status_code == 302
    slide = Slide.objects.get(case=case)
    assert slide.job is not None
    job_run(slide.job.pk)
    slide.refresh_from_db()
    assert slide.status == Slide.Status.READY, slide.error
    assert slide.level_count and slide.format == "dicom-wsi"
    assert AccessLog.objects.filter(category="slide", object_ref=f"slide:{slide.pk}").exists()
    _no_secret_stored(slide, _media_root)


def test_a_non_dicom_file_among_them_is_refused_on_the_page(
    cast: Cast, dicom_slide: list[Path], pathologist_client: Client
) -> None:
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in dicom_slide]
    files.append(SimpleUploadedFile("notes.txt", b"hello"))
    response = pathologist_client.post(
        reverse("pathology-upload-dicom", args=[cast.case.pk]), {"dicom_files": files}
    )
    assert response.status_code == 400
    assert "notes.txt is not a DICOM file" in html.unescape(response.content.decode())
    assert not Slide.objects.filter(case=cast.case).exists()


def test_a_slide_of_another_patient_is_refused_with_nothing_stored(
    cast: Cast, dicom_slide: list[Path], _media_root: Path
) -> None:
    case = _patient(cast, "SOMEONE-ELSE")
    slide = ingest(case, zip_files(dicom_slide), "slide.zip")
    assert "belongs to another patient" in slide.error
    assert PATIENT_ID not in slide.error
    _nothing_kept(slide, _media_root)


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("ct", "a CT image, not a DICOM whole-slide image"),
        ("gap", "pyramid level between 2220 and 278 pixels wide is missing"),
        ("bomb", "zip bomb"),
    ],
)
def test_bad_dicom_input_is_refused_in_words_with_nothing_stored(
    cast: Cast, dicom_slide: list[Path], _media_root: Path, what: str, message: str
) -> None:
    case = _patient(cast)
    if what == "ct":
        data = zip_files(sorted((FIXTURES / "dicom" / "sts_002" / "CT").rglob("*.dcm"))[:2])
    elif what == "gap":
        data = zip_files([dicom_slide[0], *dicom_slide[3:]])
    else:
        data = zip_files([], extra={"a.dcm": bytes(64 * 1024**2)})
    slide = ingest(case, data, "slide.zip")
    assert message in slide.error
    assert slide.job is not None and slide.job.status == Job.Status.FAILED
    _nothing_kept(slide, _media_root)


# --- import from the PACS ----------------------------------------------------------------------


def _series(server: Orthanc, mrn: str) -> tuple[str, str]:
    answer = requests.get(
        f"{server.dicomweb_url}/series",
        params={"PatientID": mrn, "Modality": "SM", "includefield": "0020000D"},
        auth=(USERNAME, PASSWORD),
        timeout=10,
    )
    answer.raise_for_status()
    (item,) = answer.json()
    return str(item["0020000D"]["Value"][0]), str(item["0020000E"]["Value"][0])


def _import(client: Client, case: Case, study: str, series: str) -> Slide:
    response = client.post(
        reverse("pathology-pacs-import", args=[case.pk]),
        {"study_uid": study, "series_uid": series},
    )
    assert response.status_code == 302
    slide = Slide.objects.filter(case=case).latest("pk")
    assert slide.job is not None and slide.job.kind == services.INGEST_JOB
    job_run(slide.job.pk)
    slide.refresh_from_db()
    return slide


def test_the_page_lists_the_patients_slide_series_and_audits_the_query(
    cast: Cast, slide_pacs: Orthanc, pathologist_client: Client
) -> None:
    case = _patient(cast)
    response = pathologist_client.get(reverse("pathology-pacs", args=[case.pk]), {"find": "1"})
    text = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert f"1 slide series of MRN {PATIENT_ID} in the PACS" in text
    assert "OTHER-77" not in text
    row = AccessLog.objects.get(category="slide-pacs", patient_id_snapshot=cast.patient.pk)
    assert row.outcome == AccessLog.Outcome.SUCCESS


@pytest.mark.slow
def test_a_slide_imported_from_the_pacs_is_ingested_and_audited(
    cast: Cast, slide_pacs: Orthanc, pathologist_client: Client, _media_root: Path
) -> None:
    case = _patient(cast)
    slide = _import(pathologist_client, case, *_series(slide_pacs, PATIENT_ID))
    assert slide.status == Slide.Status.READY, slide.error
    assert (slide.format, slide.width, slide.height) == ("dicom-wsi", 2220, 2967)
    _no_secret_stored(slide, _media_root)
    retrieve = AccessLog.objects.get(category="slide-pacs-retrieve", object_ref=f"slide:{slide.pk}")
    assert (retrieve.outcome, retrieve.patient_id_snapshot) == ("success", cast.patient.pk)
    assert AccessLog.objects.filter(category="slide-pacs", action=AccessLog.Action.CREATE).exists()
    page = pathologist_client.get(reverse("pathology-pacs", args=[case.pk]), {"find": "1"})
    assert "Imported" in page.content.decode()


def test_another_patients_slide_is_refused_before_it_is_retrieved(
    cast: Cast, slide_pacs: Orthanc, pathologist_client: Client, _media_root: Path
) -> None:
    case = _patient(cast)
    slide = _import(pathologist_client, case, *_series(slide_pacs, "OTHER-77"))
    assert "another Patient ID" in slide.error
    _nothing_kept(slide, _media_root)
    retrieve = AccessLog.objects.get(category="slide-pacs-retrieve", object_ref=f"slide:{slide.pk}")
    assert retrieve.outcome == AccessLog.Outcome.DENIED


def test_a_pacs_that_is_down_gives_a_clear_message(
    cast: Cast, slide_pacs: Orthanc, pathologist_client: Client, settings: object
) -> None:
    case = _patient(cast)
    settings.PACS_DICOMWEB_URL = "http://127.0.0.1:9/dicom-web"  # type: ignore[attr-defined]
    response = pathologist_client.get(reverse("pathology-pacs", args=[case.pk]), {"find": "1"})
    assert "The PACS could not be reached" in response.content.decode()
    row = AccessLog.objects.get(category="slide-pacs", patient_id_snapshot=cast.patient.pk)
    assert row.outcome == AccessLog.Outcome.FAILURE


def test_a_pacs_that_goes_down_before_the_retrieve_fails_the_slide_with_nothing_stored(
    cast: Cast,
    slide_pacs: Orthanc,
    pathologist_client: Client,
    settings: object,
    _media_root: Path,
) -> None:
    case = _patient(cast)
    study, series = _series(slide_pacs, PATIENT_ID)
    slide = pacs.slide_pacs_import_request(
        case=case, user=cast.pathologist, study_uid=study, series_uid=series
    )
    settings.PACS_DICOMWEB_URL = "http://127.0.0.1:9/dicom-web"  # type: ignore[attr-defined]
    assert slide.job is not None
    job_run(slide.job.pk)
    slide.refresh_from_db()
    assert "The PACS could not be reached" in slide.error
    _nothing_kept(slide, _media_root)
    retrieve = AccessLog.objects.get(category="slide-pacs-retrieve", object_ref=f"slide:{slide.pk}")
    assert retrieve.outcome == AccessLog.Outcome.FAILURE


def test_the_case_page_offers_the_pacs_import_only_with_a_pacs_configured(
    cast: Cast, pathologist_client: Client, settings: object
) -> None:
    settings.PACS_DICOMWEB_URL = ""  # type: ignore[attr-defined]
    url = reverse("patients-case-section", args=[cast.case.pk, "pathology"])
    assert "Import slide from PACS" not in pathologist_client.get(url).content.decode()
    settings.PACS_DICOMWEB_URL = "http://127.0.0.1:9/dicom-web"  # type: ignore[attr-defined]
    assert "Import slide from PACS" in pathologist_client.get(url).content.decode()


def test_a_malformed_uid_is_refused_and_nothing_queued(
    cast: Cast, slide_pacs: Orthanc, pathologist_client: Client
) -> None:
    response = pathologist_client.post(
        reverse("pathology-pacs-import", args=[cast.case.pk]),
        {"study_uid": "1.2.3", "series_uid": "../etc"},
    )
    assert response.status_code == 302
    assert not Slide.objects.filter(case=cast.case).exists()


def test_zip_files_helper_makes_a_real_archive(dicom_slide: list[Path], tmp_path: Path) -> None:
    path = tmp_path / "s.zip"
    path.write_bytes(zip_files(dicom_slide))
    with zipfile.ZipFile(path) as archive:
        assert len(archive.namelist()) == len(dicom_slide)
