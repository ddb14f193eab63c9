"""After browsing patient pages, nothing about the patients is left in the browser's storage."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from oncology_ui.core import roles
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.factories import PASSWORD, CaseFactory, PatientFactory, TeamFactory, UserFactory

pytestmark = BROWSER_MARKS

_STORAGE_DUMP = """() => {
    const dump = (store) => Object.fromEntries(
        Array.from({length: store.length}, (_, i) => [store.key(i), store.getItem(store.key(i))]));
    return JSON.stringify({local: dump(window.localStorage), session: dump(window.sessionStorage)});
}"""


def test_browsing_patient_pages_leaves_no_patient_data_in_browser_storage(page: Page) -> None:
    team = TeamFactory.create(name="Breast MDT")
    UserFactory.create(username="onco", role=roles.ONCOLOGIST, teams=[team])
    cases = [CaseFactory.create(patient=PatientFactory.create(teams=[team])) for _ in range(3)]

    log_in(page, "onco", PASSWORD)
    # htmx reads its config from the page: history snapshots are off.
    assert page.evaluate("htmx.config.historyCacheSize") == 0
    for case in cases:
        page.fill("#id_q", case.patient.family_name)
        results = page.locator("#patient-results")
        expect(results.locator("tbody tr")).to_have_count(1)
        results.get_by_role("link", name=case.patient.display_name).click()
        page.wait_for_url(f"**/patients/{case.patient.pk}/")
        page.get_by_role("link", name=case.primary_diagnosis).click()
        page.wait_for_url(f"**/patients/cases/{case.pk}/")
        expect(page.locator("#section-summary")).to_contain_text(case.oncotree_code)
        page.go_back()
        page.go_back()
        page.goto("/patients/")

    stored = page.evaluate(_STORAGE_DUMP)
    storage = json.loads(stored)
    assert "htmx-history-cache" not in storage["local"]
    assert "htmx-history-cache" not in storage["session"]
    assert "ZZCANARY" not in stored.upper()
