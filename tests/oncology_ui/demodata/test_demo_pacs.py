"""The demo PACS: the sarcoma studies filed under the demo patient's MRN, found from its case.

Against a live Orthanc started here with the code ``manage.py demo_pacs`` runs (its own server:
the session PACS of the imaging tests must not hold the same study under a second Patient ID).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
import requests
from django.conf import LazySettings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from oncology_ui.demodata.management.commands.demo_pacs import SARCOMA_SAMPLES, demo_pacs_files
from oncology_ui.demodata.orthanc import USERNAME, Orthanc
from oncology_ui.demodata.seed import IMAGES_MRN
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.imaging.conftest import orthanc_serving, use_pacs

STS_002_STUDY = "1.3.6.1.4.1.14519.5.2.1.5168.1900.190311276211389538203367070477"
DEMO_PASSWORD = "demo-pacs-test-password"  # noqa: S105 - a throw-away server on loopback


@pytest.fixture(scope="module")
def demo_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """A live Orthanc holding every one of the demo's files under the demo MRN."""
    files = demo_pacs_files(SARCOMA_SAMPLES)
    if not files:
        pytest.fail(f"the DICOM samples are missing under {SARCOMA_SAMPLES} (see ../shared/data)")
    yield from orthanc_serving(
        tmp_path_factory.mktemp("demo-orthanc"),
        files,
        password=DEMO_PASSWORD,
        patient_id=IMAGES_MRN,
    )


@pytest.mark.slow  # the module's Orthanc: start, 134 instances, stop take 5-10 s
def test_the_loader_files_every_instance_under_the_demo_mrn_and_leaves_the_files_alone(
    demo_orthanc: Orthanc,
) -> None:
    server = demo_orthanc  # orthanc_serving has checked that it took every file
    files = demo_pacs_files(SARCOMA_SAMPLES)
    assert len(files) == 134
    auth = (USERNAME, DEMO_PASSWORD)
    studies = requests.get(
        f"{server.dicomweb_url}/studies", params={"PatientID": IMAGES_MRN}, auth=auth, timeout=10
    ).json()
    assert [s["0020000D"]["Value"][0] for s in studies] == [STS_002_STUDY]
    assert studies[0]["00201208"]["Value"] == [134]  # every instance, none left under STS_002
    original = requests.get(
        f"{server.dicomweb_url}/studies", params={"PatientID": "STS_002"}, auth=auth, timeout=10
    )
    assert original.status_code in (200, 204) and not (original.content and original.json())
    assert pydicom.dcmread(files[0], stop_before_pixels=True).PatientID == "STS_002"


@pytest.mark.slow
@pytest.mark.django_db
def test_find_studies_in_pacs_on_the_demo_patients_case_lists_them(
    cast: Cast, demo_orthanc: Orthanc, settings: LazySettings
) -> None:
    use_pacs(demo_orthanc, settings)
    cast.patient.mrn = IMAGES_MRN
    cast.patient.save(update_fields=["mrn"])
    client = Client()
    client.force_login(cast.oncologist)
    response = client.get(reverse("imaging-pacs", args=[cast.case.pk]), {"find": "1"})
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert f"1 study of MRN {IMAGES_MRN} in the PACS" in page
    assert "CT, MR, PT, RTSTRUCT" in page and f'value="{STS_002_STUDY}"' in page


def test_the_command_refuses_clearly_without_samples(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no DICOM files under"):
        call_command("demo_pacs", "--samples", str(tmp_path))
