"""The board's decision is drafted and signed on the case page through htmx swaps, without a
reload and without a single console error or CSP violation (the console guard checks that)."""

from __future__ import annotations

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from oncology_ui.boards.models import Decision
from oncology_ui.core.models import Team
from tests.e2e.a11y import assert_no_serious_a11y_violations
from tests.e2e.browser import BROWSER_MARKS, log_in_with_code, open_case
from tests.factories import PASSWORD, CaseFactory, totp_code, totp_device_enrol

pytestmark = BROWSER_MARKS


def test_a_decision_is_drafted_and_signed_in_place(
    page: Page, team: Team, oncologist: User
) -> None:
    case = CaseFactory.create(patient__teams=[team])
    device = totp_device_enrol(oncologist)  # signing needs a second factor

    log_in_with_code(page, oncologist.username, totp_code(device))
    open_case(page, case)
    page.evaluate("window.__noReload = true")
    section = page.locator("#section-board")
    section.locator("details.decision-form summary").click()
    section.locator("input[name=decision-therapy]").fill("Letrozole and palbociclib")
    section.get_by_role("button", name="Save draft").click()
    expect(section.locator("article.decision-draft")).to_contain_text("Letrozole and palbociclib")

    section.get_by_label("Re-enter your password to sign").fill(PASSWORD)
    section.get_by_label("Code from your authenticator app").fill(totp_code(device, steps_ahead=1))
    section.get_by_role("button", name="Sign decision").click()
    expect(section.locator("article.decision-signed")).to_contain_text("Signed by")
    assert page.evaluate("window.__noReload") is True
    assert Decision.objects.get(case=case).status == "signed"
    assert_no_serious_a11y_violations(page)
