"""RECIST results back to the live PACS: SR (TID 1500) and SEG written, validated, stored over
STOW-RS, then read back from Orthanc; refusals and a PACS that is down leave nothing behind."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
import requests
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.demodata.orthanc import (
    AE_TITLE,
    PASSWORD,
    QR_CALLING_AE,
    USERNAME,
    Orthanc,
    free_port,
)
from oncology_ui.imaging import pacs_results, recist
from oncology_ui.imaging.models import ImagingRegion, PacsConnection, RecistAssessment
from tests.inference.imaging.dciodvfy import dciodvfy_errors
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.imaging.test_pacs import (
    STS_002_STUDY,
    _audit_rows,
    _import,
    _patient_mrn,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
AUTH = (USERNAME, PASSWORD)


@pytest.fixture
def imported(cast: Cast, pacs: Orthanc, oncologist_client: Client) -> Iterator[ImagingRegion]:
    """STS_002 imported from the PACS; the tumour region on its CT. Whatever the test stored in
    the PACS is deleted again afterwards (the PACS is shared by the session)."""
    case = _patient_mrn(cast, "STS_002")
    before = set(_orthanc_instances(pacs))
    upload = _import(oncologist_client, case, STS_002_STUDY)
    assert upload.status == "stored", upload.error
    assert len(upload.pacs_instances) == 134
    region = ImagingRegion.objects.filter(series__study__case=case, series__modality="CT").first()
    assert region is not None
    yield region
    for orthanc_id in set(_orthanc_instances(pacs)) - before:
        requests.delete(f"{pacs.url}/instances/{orthanc_id}", auth=AUTH, timeout=10)


def _orthanc_instances(server: Orthanc) -> list[str]:
    answer = requests.get(f"{server.url}/instances", auth=AUTH, timeout=10)
    answer.raise_for_status()
    return list(answer.json())


def _baseline(cast: Cast, region: ImagingRegion) -> RecistAssessment:
    return recist.recist_record(
        case=cast.case,
        user=cast.oncologist,
        date=dt.date(2006, 1, 28),
        lesions=[
            {
                "lesion_id": "T1",
                "kind": "target",
                "diameter_mm": round(region.longest_diameter_mm or 0.0, 1),
                "is_lymph_node": False,
                "status": "present",
                "organ": "thigh",
                "region_id": region.pk,
            },
            {"lesion_id": "N1", "kind": "non_target", "diameter_mm": None, "status": "present"},
        ],
    )


def _send(client: Client, row: RecistAssessment, connection: str = "settings") -> str:
    response = client.post(
        reverse("imaging-recist-pacs", args=[row.case_id, row.pk]),
        {"connection": connection},
        follow=True,
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _retrieve(server: Orthanc, sop_uid: str, folder: Path) -> pydicom.Dataset:
    """Read an instance back from the PACS by its SOP Instance UID (REST lookup, then file)."""
    found = requests.post(f"{server.url}/tools/lookup", data=sop_uid, auth=AUTH, timeout=10)
    found.raise_for_status()
    (item,) = [i for i in found.json() if i["Type"] == "Instance"]
    data = requests.get(f"{server.url}/instances/{item['ID']}/file", auth=AUTH, timeout=30)
    data.raise_for_status()
    path = folder / f"{sop_uid}.dcm"
    path.write_bytes(data.content)
    return pydicom.dcmread(path)


def test_a_time_point_goes_back_to_the_pacs_as_valid_sr_and_seg(
    cast: Cast,
    pacs: Orthanc,
    imported: ImagingRegion,
    oncologist_client: Client,
    tmp_path: Path,
) -> None:
    row = _baseline(cast, imported)
    page = oncologist_client.get(reverse("imaging-recist", args=[cast.case.pk])).content.decode()
    assert "Send to PACS" in page
    assert "Sending the 28 Jan 2006 time point to the PACS" in _send(oncologist_client, row)
    job = Job.objects.get(kind=pacs_results.RESULTS_JOB)
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["segments"] == 1 and job.result["lesions"] == 2
    sr = _retrieve(pacs, str(job.result["sr"]), tmp_path)
    seg = _retrieve(pacs, str(job.result["seg"]), tmp_path)
    assert dciodvfy_errors(tmp_path / f"{sr.SOPInstanceUID}.dcm") == []
    assert dciodvfy_errors(tmp_path / f"{seg.SOPInstanceUID}.dcm") == []
    # Filed under the real patient and study in the PACS, referencing the PACS's own CT images.
    assert sr.PatientID == seg.PatientID == "STS_002"
    assert sr.StudyInstanceUID == seg.StudyInstanceUID == STS_002_STUDY
    assert sr.Modality == "SR" and seg.Modality == "SEG"
    originals = {sop for _, sop, _ in imported.series.study.upload.pacs_instances}
    (referenced,) = seg.ReferencedSeriesSequence
    assert {i.ReferencedSOPInstanceUID for i in referenced.ReferencedInstanceSequence} <= originals
    evidence = {
        i.ReferencedSOPInstanceUID
        for study in sr.CurrentRequestedProcedureEvidenceSequence
        for series in study.ReferencedSeriesSequence
        for i in series.ReferencedSOPSequence
    }
    assert seg.SOPInstanceUID in evidence and evidence - {seg.SOPInstanceUID} <= originals
    # The SEG holds the region's mask, frame for frame on the slices it covers.
    assert int(seg.NumberOfFrames) == int(imported_mask_planes(imported))
    # Audited: the request (the view) and the store (the job), with the patient.
    rows = _audit_rows("imaging-pacs-store")
    assert [r.outcome for r in rows] == [AccessLog.Outcome.SUCCESS] * 2
    assert all(r.patient_id_snapshot == cast.patient.pk for r in rows)


def imported_mask_planes(region: ImagingRegion) -> int:
    from oncology_ui.imaging.selectors import series_volume

    _, masks = series_volume(region.series)
    mask = masks[region.pk].mask
    return int(sum(1 for plane in mask if plane.any()))


def test_a_pacs_that_is_down_fails_the_send_with_nothing_stored(
    cast: Cast,
    pacs: Orthanc,
    imported: ImagingRegion,
    settings: LazySettings,
    oncologist_client: Client,
) -> None:
    row = _baseline(cast, imported)
    before = len(_orthanc_instances(pacs))
    _send(oncologist_client, row)
    settings.PACS_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    job = Job.objects.get(kind=pacs_results.RESULTS_JOB)
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "The PACS could not be reached; it may be down. Try again later."
    assert len(_orthanc_instances(pacs)) == before
    (failed,) = [
        r
        for r in _audit_rows("imaging-pacs-store")
        if r.username == "onco" and r.outcome == AccessLog.Outcome.FAILURE
    ]
    assert failed.patient_id_snapshot == cast.patient.pk


def test_a_dimse_connection_or_a_time_point_without_pacs_images_is_refused(
    cast: Cast, pacs: Orthanc, imported: ImagingRegion, oncologist_client: Client
) -> None:
    row = _baseline(cast, imported)
    dimse = PacsConnection.objects.create(
        name="Orthanc DIMSE",
        transport="dimse",
        host="127.0.0.1",
        port=pacs.dicom_port,
        calling_ae_title=QR_CALLING_AE,
        called_ae_title=AE_TITLE,
    )
    page = _send(oncologist_client, row, str(dimse.pk))
    assert (
        "Results go back over DICOMweb (STOW-RS); the connection 'Orthanc DIMSE' is DIMSE only"
        in page
    )
    row.lesions = [{**les, "region_id": None} for les in row.lesions]
    row.save(update_fields=["lesions"])
    page = _send(oncologist_client, row)
    assert "None of this time point's lesions was measured on a region of a study imported" in page
    assert not Job.objects.filter(kind=pacs_results.RESULTS_JOB).exists()
    rows = _audit_rows("imaging-pacs-store")
    assert [r.outcome for r in rows] == [AccessLog.Outcome.FAILURE] * 2
