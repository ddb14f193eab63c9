"""The board's decision is drafted and signed on the case page through htmx swaps, without a
reload and without a single console error or CSP violation (the console guard checks that)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from oncology_ui.boards.models import Decision
from oncology_ui.core import roles
from tests.e2e.a11y import assert_no_serious_a11y_violations
from tests.e2e.browser import BROWSER_MARKS, log_in_with_code, reveal_sections
from tests.factories import (
    PASSWORD,
    CaseFactory,
    PatientFactory,
    TeamFactory,
    UserFactory,
    totp_code,
    totp_device_enrol,
)

pytestmark = BROWSER_MARKS


def test_a_decision_is_drafted_and_signed_in_place(page: Page) -> None:
    team = TeamFactory.create(name="Breast MDT")
    onco = UserFactory.create(username="onco", role=roles.ONCOLOGIST, teams=[team])
    case = CaseFactory.create(patient=PatientFactory.create(teams=[team]))
    device = totp_device_enrol(onco)  # signing needs a second factor

    log_in_with_code(page, "onco", PASSWORD, totp_code(device))
    page.goto(f"/patients/cases/{case.pk}/")
    reveal_sections(page)
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
