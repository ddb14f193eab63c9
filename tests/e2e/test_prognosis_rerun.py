"""A stale prognosis is re-run with one click, in place, from the case page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from oncology_ui.analysis.models import AnalysisRun
from oncology_ui.core import roles
from tests.e2e.browser import BROWSER_MARKS, log_in, reveal_sections
from tests.factories import PASSWORD, CaseFactory, PatientFactory, TeamFactory, UserFactory
from tests.oncology_ui.boards.helpers import prediction_create

pytestmark = BROWSER_MARKS


def test_a_stale_prediction_is_rerun_with_one_click_without_a_page_load(page: Page) -> None:
    team = TeamFactory.create(name="Breast MDT")
    UserFactory.create(username="onco", role=roles.ONCOLOGIST, teams=[team])
    case = CaseFactory.create(patient=PatientFactory.create(teams=[team]))
    # Its stored snapshot has none of the case's current clinical facts: stale.
    prediction_create(case, model_name="oncoboard-tcga-pancancer")

    log_in(page, "onco", PASSWORD)
    page.goto(f"/patients/cases/{case.pk}/")
    reveal_sections(page)
    stale = page.locator("#prognosis-stale")
    expect(stale).to_contain_text("Stale prediction")
    expect(page.locator("#section-prognosis .time-zero")).to_contain_text("Years from today")
    page.evaluate("window.__noReload = true")
    stale.get_by_role("button", name="Re-run with the current inputs").click()

    expect(page.locator("#section-prognosis")).to_contain_text("A re-run is in progress")
    assert page.evaluate("window.__noReload") is True
    assert AnalysisRun.objects.filter(case=case).count() == 2
