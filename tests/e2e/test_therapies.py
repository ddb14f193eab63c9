"""An oncologist ranks the options, opens the evidence, compares two and records a decision."""

from __future__ import annotations

import datetime as dt
import os
import re

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from oncology_ui.core.models import Team
from oncology_ui.therapies.kb import kb_load
from oncology_ui.therapies.models import TherapyDecision
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case
from tests.factories import CaseFactory
from tests.oncology_ui.therapies.factories import BiomarkerFactory, fine_labs

pytestmark = BROWSER_MARKS


def test_it_ranks_compares_and_records_a_decision_without_reloading(
    page: Page, team: Team, oncologist: User
) -> None:
    kb_load()
    case = CaseFactory.create(
        patient__teams=[team],
        stage_group="IIA",
        ecog=0,
        ecog_date=dt.date.today() - dt.timedelta(days=3),
    )
    BiomarkerFactory.create(case=case, name="ER", status="positive")
    BiomarkerFactory.create(case=case, name="HER2", status="negative")
    fine_labs(case)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    log_in(page, oncologist.username)
    open_case(page, case, section="therapies")
    page.evaluate("window.__noReload = true")
    section = page.locator("#section-therapies")
    section.get_by_role("button", name="Rank therapy options").click()
    expect(section.locator(".therapy-option").first).to_contain_text("Tier I-A")
    expect(section).to_contain_text("Knowledge base")

    first = section.locator(".therapy-option").first
    first.locator("details.evidence-drawer summary").click()
    expect(first.locator("details.evidence-drawer table").first).to_be_visible()
    # Each citation once, in the drawer's numbered reference list; the short labels point there.
    expect(first.locator("ol.references li").first).to_be_visible()
    first.locator("details.evidence-drawer a.cite").first.click()
    expect(first.locator("ol.references li:target")).to_have_count(1)

    boxes = section.locator("input[name=option]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    section.get_by_role("button", name="Compare the chosen options (2 or 3)").click()
    # Each chosen option is drawn with the randomised trial that validated it, or refused.
    expect(page.locator("#whatif-panel")).to_contain_text(
        re.compile("checked against the .*trial|Not estimable from our data")
    )

    section.locator("details.decide summary").click()
    section.locator("input[name=verdict][value=accepted]").check()
    section.locator("textarea[name=reason]").fill("Fits the board's plan")
    section.get_by_role("button", name="Record decision").click()
    expect(page.locator("#section-therapies .decisions")).to_contain_text("Fits the board's plan")
    assert page.evaluate("window.__noReload") is True
    assert TherapyDecision.objects.filter(case=case, verdict="accepted").count() == 1
    if os.environ.get("THERAPIES_SCREENSHOT"):
        section.screenshot(path=os.environ["THERAPIES_SCREENSHOT"])
    assert not [p for p in problems if "Content Security Policy" in p], problems
