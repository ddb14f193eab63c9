"""Break-glass in the browser: a covering clinician opens an out-of-team patient (#15.4)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from oncology_ui.core import roles
from oncology_ui.core.models import BreakGlassAccess
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.factories import PatientFactory, TeamFactory, UserFactory

pytestmark = BROWSER_MARKS


def test_a_covering_clinician_opens_an_out_of_team_patient_with_a_reason(page: Page) -> None:
    breast, lung = TeamFactory.create(name="Breast MDT"), TeamFactory.create(name="Thoracic MDT")
    patient = PatientFactory.create(teams=[breast])
    UserFactory.create(username="onco-lung", role=roles.ONCOLOGIST, teams=[lung])

    log_in(page, "onco-lung")
    page.get_by_role("link", name="Emergency access").click()
    page.wait_for_url("**/break-glass/")
    page.fill("#id_mrn", patient.mrn)
    page.get_by_role("button", name="Open the record").click()  # no reason: refused
    assert not BreakGlassAccess.objects.exists()
    page.fill("#id_reason", "Admitted overnight via ED; covering for the breast team")
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=str(Path(shots) / "break-glass-form.png"), full_page=True)
    page.get_by_role("button", name="Open the record").click()
    page.wait_for_url(f"**/patients/{patient.pk}/")
    expect(page.locator("main")).to_contain_text(patient.family_name)
    assert BreakGlassAccess.objects.get().reason.startswith("Admitted overnight")
