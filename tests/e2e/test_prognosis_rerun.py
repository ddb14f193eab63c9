"""A stale prognosis is re-run with one click, in place, from the case page."""

from __future__ import annotations

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from oncology_ui.analysis.models import AnalysisRun
from oncology_ui.core.models import Team
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case
from tests.factories import CaseFactory
from tests.oncology_ui.boards.helpers import prediction_create

pytestmark = BROWSER_MARKS


def test_a_stale_prediction_is_rerun_with_one_click_without_a_page_load(
    page: Page, team: Team, oncologist: User
) -> None:
    case = CaseFactory.create(patient__teams=[team])
    # Its stored snapshot has none of the case's current clinical facts: stale.
    prediction_create(case, model_name="oncoboard-tcga-pancancer")

    log_in(page, oncologist.username)
    open_case(page, case)
    stale = page.locator("#prognosis-stale")
    expect(stale).to_contain_text("Stale prediction")
    expect(page.locator("#section-prognosis .time-zero")).to_contain_text("Years from today")
    page.evaluate("window.__noReload = true")
    stale.get_by_role("button", name="Re-run with the current inputs").click()

    expect(page.locator("#section-prognosis")).to_contain_text("A re-run is in progress")
    assert page.evaluate("window.__noReload") is True
    assert AnalysisRun.objects.filter(case=case).count() == 2
