"""A DICOM whole-slide image uploaded as a ZIP of its folder opens in the browser viewer."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.pathology.models import Slide
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.e2e.slide_viewer import open_viewer_and_zoom
from tests.factories import CaseFactory, UserFactory
from tests.inference.slides.dicomize import PATIENT_ID, SMALL_SVS, dicomize, zip_files

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def dicom_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dicom-e2e")
    path = folder / "slide-folder.zip"
    path.write_bytes(zip_files(dicomize(SMALL_SVS, folder / "slide")))
    return path


def test_a_zipped_dicom_slide_is_uploaded_processed_and_viewed(
    page: Page, team: Team, dicom_zip: Path
) -> None:
    UserFactory.create(username="path", role=roles.PATHOLOGIST, teams=[team])
    case = CaseFactory.create(patient__teams=[team], patient__mrn=PATIENT_ID)

    log_in(page, "path")
    page.goto(f"/pathology/cases/{case.pk}/slides/new/")
    page.set_input_files("#slide-files", str(dicom_zip))
    page.click("#slide-upload-start")
    page.wait_for_url(f"**/patients/cases/{case.pk}/**")
    slide = Slide.objects.get(case=case)
    assert slide.job is not None
    job_run(slide.job.pk)  # the worker's part, here (the live server has no worker)
    slide.refresh_from_db()
    assert (slide.status, slide.format) == (Slide.Status.READY, "dicom-wsi"), slide.error

    open_viewer_and_zoom(page, case, slide)
    # The scale comes from the DICOM pixel spacing (0.499 um/px), so the bar is in microns.
    expect(page.locator("#scale-bar .scale-bar-label")).to_contain_text("m")
