"""A clinician signs in, finds a patient with the live search, opens the case and adds an event."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from oncology_ui.casepage.composition import CASE_SECTIONS
from oncology_ui.core.models import Team
from oncology_ui.patients.models import TimelineEvent
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case, reveal_sections
from tests.factories import CaseFactory, PatientFactory, TimelineEventFactory

pytestmark = BROWSER_MARKS


def test_it_finds_a_patient_opens_the_case_and_adds_a_timeline_event(
    page: Page, team: Team, oncologist: User
) -> None:
    wanted = PatientFactory.create(teams=[team])
    other = PatientFactory.create(teams=[team])
    case = CaseFactory.create(patient=wanted)
    TimelineEventFactory.create(case=case, title="Lumpectomy")
    CaseFactory.create(patient=other)

    log_in(page, oncologist.username)
    results = page.locator("#patient-results")
    expect(results.get_by_text(other.family_name.upper(), exact=False)).to_be_visible()

    # The search box posts through htmx as the user types; only the matching row stays.
    page.fill("#id_q", wanted.family_name)
    expect(results.get_by_text(other.family_name.upper(), exact=False)).to_have_count(0)
    results.get_by_role("link", name=case.oncotree_code).click()
    page.wait_for_url(f"**/patients/cases/{case.pk}/")
    reveal_sections(page)

    for name in CASE_SECTIONS:
        expect(page.locator(f"#section-{name}")).to_be_visible()
    # Sections below the fold arrived by htmx when scrolled into view, placeholders gone.
    expect(page.locator("#section-pathology")).to_contain_text("No slides yet")
    expect(page.locator("#section-timeline .timeline")).to_contain_text("Lumpectomy")

    # A marker on window survives an htmx swap but not a full page load.
    page.evaluate("window.__noReload = true")
    page.locator("#section-timeline details.add-event summary").click()
    form = page.locator("#section-timeline form.grid-form")
    form.locator("select[name=kind]").select_option("imaging")
    form.locator("input[name=date]").fill("2024-05-02")
    form.locator("input[name=title]").fill("CT chest, abdomen and pelvis")
    form.get_by_role("button", name="Add event").click()

    expect(page.locator("#section-timeline .timeline")).to_contain_text(
        "CT chest, abdomen and pelvis"
    )
    assert page.evaluate("window.__noReload") is True
    event = TimelineEvent.objects.get(case=case, kind=TimelineEvent.Kind.IMAGING)
    assert (event.date, event.title) == (dt.date(2024, 5, 2), "CT chest, abdomen and pelvis")


def test_it_shows_the_validation_error_in_place_for_an_event_in_the_future(
    page: Page, team: Team, oncologist: User
) -> None:
    case = CaseFactory.create(patient__teams=[team])

    log_in(page, oncologist.username)
    open_case(page, case)
    page.locator("#section-timeline details.add-event summary").click()
    form = page.locator("#section-timeline form.grid-form")
    form.locator("select[name=kind]").select_option("imaging")
    form.locator("input[name=date]").fill("2999-01-01")
    form.get_by_role("button", name="Add event").click()

    expect(page.locator("#section-timeline .field-error")).to_contain_text(
        "cannot be in the future"
    )
    assert not TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.IMAGING).exists()
