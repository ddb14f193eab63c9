"""After browsing patient pages, nothing about the patients is left in the browser's storage."""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from oncology_ui.core.models import Team
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.factories import CaseFactory

pytestmark = BROWSER_MARKS

_STORAGE_DUMP = """() => {
    const dump = (store) => Object.fromEntries(
        Array.from({length: store.length}, (_, i) => [store.key(i), store.getItem(store.key(i))]));
    return JSON.stringify({local: dump(window.localStorage), session: dump(window.sessionStorage)});
}"""


def test_browsing_patient_pages_leaves_no_patient_data_in_browser_storage(
    page: Page, team: Team, oncologist: User
) -> None:
    cases = [CaseFactory.create(patient__teams=[team]) for _ in range(3)]

    log_in(page, oncologist.username)
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
