"""The case page on paper (A4, Chromium's print-to-PDF) and on a phone (390 px wide)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from oncology_ui.core.models import Team
from oncology_ui.patients.models import Case, TimelineEvent
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.factories import CaseFactory, TimelineEventFactory
from tests.oncology_ui.trials.factories import fit_breast_case

pytestmark = BROWSER_MARKS


@pytest.fixture
def busy_case(team: Team) -> Case:
    """A case with a long history, so the page runs over several sheets of A4."""
    # Labs and a biomarker: their tables are wider than a phone and must scroll in their box.
    case = fit_breast_case(CaseFactory.create(patient__teams=[team]))
    for n in range(40):
        TimelineEventFactory.create(
            case=case,
            kind=TimelineEvent.Kind.IMAGING,
            date=dt.date(2020, 1, 1) + dt.timedelta(days=30 * n),
            title=f"CT chest, abdomen and pelvis number {n}",
            detail="Stable disease; no new lesions. " * 3,
        )
    return case


def _pdf(page: Page) -> PdfReader:
    return PdfReader(io.BytesIO(page.pdf(format="A4")))


def test_the_printed_case_page_is_compact_and_carries_no_controls(
    page: Page, oncologist: User, busy_case: Case
) -> None:
    case = busy_case
    log_in(page, oncologist.username)
    page.goto(f"/patients/cases/{case.pk}/")
    # What a board chair prints: the whole case, every section filled at once.
    page.get_by_role("link", name="Whole case for printing").click()
    expect(page.locator("#section-timeline")).to_contain_text("number 39")
    expect(page.locator("section.deferred")).to_have_count(0)

    printed = _pdf(page)
    # What printing gave before the print stylesheet: the screen layout on paper.
    page.emulate_media(media="screen")
    as_on_screen = _pdf(page)
    page.emulate_media(media="print")

    # Fewer sheets than the screen layout on paper (the demo case: 18 before the print
    # stylesheet, 10 with it); the exact ratio depends on which sections have content.
    assert len(printed.pages) < len(as_on_screen.pages), (
        len(printed.pages),
        len(as_on_screen.pages),
    )
    text = " ".join(p.extract_text() for p in printed.pages)
    first = printed.pages[0].extract_text()
    # The compact header: the site, the print date and the patient's identifiers, on page one.
    assert f"printed {dt.date.today():%Y-%m-%d}" in first
    assert case.patient.mrn in first
    assert "number 39" in text  # the whole timeline is there
    for control in ("Sign out", "Update status", "Edit case", "Export CSV", "Add an event"):
        assert control not in text, control


def test_on_a_phone_the_case_page_never_scrolls_sideways_and_the_menu_is_reachable(
    page: Page, oncologist: User, busy_case: Case
) -> None:
    case = busy_case
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, oncologist.username)
    page.goto(f"/patients/cases/{case.pk}/")
    expect(page.locator("#section-timeline")).to_contain_text("number 39")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, width

    nav = page.get_by_role("navigation", name="Main")
    for name in ("Patients", "Tumor boards"):
        link = nav.get_by_role("link", name=name)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
    nav.get_by_role("link", name="Patients").click()
    page.wait_for_url("**/patients/")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
