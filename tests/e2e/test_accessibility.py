"""axe-core finds no critical or serious accessibility violation on the pages clinicians use most.

Each page is built with the same factories as the other browser tests and checked as the user
sees it (for the case page: with every collapsible part open).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from oncology_ui.boards import services as boards
from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.trials import services as trials
from oncology_ui.trials.models import Trial, TrialMatchResult
from tests.e2e.a11y import assert_no_serious_a11y_violations
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case
from tests.factories import CaseFactory, TimelineEventFactory, UserFactory
from tests.oncology_ui.imaging.conftest import ingest, sts_zip
from tests.oncology_ui.pathology.factories import SlideFactory, processed_slide_files
from tests.oncology_ui.trials.factories import (
    LabResultFactory,
    fit_breast_case,
    import_trials,
    lung_record,
    trial_record,
)

pytestmark = [*BROWSER_MARKS, pytest.mark.usefixtures("bm25_only_trials")]


def test_the_login_page(page: Page) -> None:
    page.goto("/login/")
    assert_no_serious_a11y_violations(page)
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "wrong password")
    page.click("form button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    # The mistyped password keeps the username, and the page names the site, not the host.
    expect(page.locator("#id_username")).to_have_value("nobody")
    expect(page).to_have_title("Sign in · OncoBoard")
    expect(page.locator(".brand")).to_have_text("OncoBoard")
    expect(page.locator("footer")).to_contain_text("OncoBoard")
    assert "localhost" not in page.locator("body").inner_text()
    assert_no_serious_a11y_violations(page)


def test_the_patient_list(page: Page, oncologist: User, team: Team) -> None:
    for _ in range(3):
        CaseFactory.create(patient__teams=[team])
    log_in(page, oncologist.username)
    assert_no_serious_a11y_violations(page)


def test_the_case_page_with_every_section_open(page: Page, oncologist: User, team: Team) -> None:
    case = fit_breast_case(CaseFactory.create(patient__teams=[team]))
    TimelineEventFactory.create(case=case, title="Lumpectomy")
    import_trials(trial_record(), lung_record())
    result = trials.trial_match_request(case=case, user=oncologist)
    assert result.job is not None and job_run(result.job.pk) == "succeeded"

    log_in(page, oncologist.username)
    open_case(page, case)
    expect(page.locator("#section-trials")).to_contain_text("Palbociclib")
    # Open every drawer; the event form arrives by htmx when its drawer opens.
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    expect(page.locator("#section-timeline form.grid-form")).to_be_visible()
    assert_no_serious_a11y_violations(page)
    assert TrialMatchResult.objects.filter(case=case).exists()


def test_the_trial_detail_page_with_a_ranking_that_excludes_a_patient(
    page: Page, team: Team
) -> None:
    coordinator = UserFactory.create(username="coord", role=roles.TRIAL_COORDINATOR, teams=[team])
    fit_breast_case(CaseFactory.create(patient__teams=[team]))
    excluded = CaseFactory.create(patient__teams=[team])
    LabResultFactory.create(case=excluded, value=60.0, value_text="60")  # bilirubin far above ULN
    import_trials(trial_record())
    run = trials.trial_reverse_match_request(
        trial=Trial.objects.get(nct_id="NCT90000001"), user=coordinator
    )
    assert run.job is not None and job_run(run.job.pk) == "succeeded"

    log_in(page, "coord")
    page.goto("/trials/NCT90000001/")
    # The faded "excluded" card was the cause of the page's colour-contrast failures.
    expect(page.locator("article.trial-match.excluded")).to_have_count(1)
    assert_no_serious_a11y_violations(page)


def test_the_work_list(page: Page, team: Team) -> None:
    coordinator = UserFactory.create(username="coord", role=roles.TRIAL_COORDINATOR, teams=[team])
    case = fit_breast_case(CaseFactory.create(patient__teams=[team]))
    import_trials(trial_record())
    trials.worklist_add(case=case, trial=Trial.objects.get(nct_id="NCT90000001"), user=coordinator)
    log_in(page, "coord")
    page.goto("/trials/worklist/")
    expect(page.locator("form.move select")).to_have_count(1)
    assert_no_serious_a11y_violations(page)


def test_the_board_meeting_page(page: Page, oncologist: User, team: Team) -> None:
    board = boards.board_create(name="Breast board", site="main", specialty="Breast", team=team)
    meeting = boards.meeting_create(
        board=board, date=dt.date(2025, 3, 4), created_by=oncologist, attendees=[oncologist]
    )
    for _ in range(2):
        case = CaseFactory.create(patient__teams=[team])
        boards.agenda_item_add(meeting=meeting, case=case, presenter=oncologist)
    log_in(page, oncologist.username)
    page.goto(f"/boards/meetings/{meeting.pk}/")
    assert_no_serious_a11y_violations(page)
    page.get_by_role("link", name="Board mode").click()
    expect(page.locator("#board-case h1")).to_be_visible()
    assert_no_serious_a11y_violations(page)


def test_the_slide_viewer(page: Page, team: Team, tmp_path: Path) -> None:
    UserFactory.create(username="path", role=roles.PATHOLOGIST, teams=[team])
    case = CaseFactory.create(patient__teams=[team])
    slide = SlideFactory.ready(files=processed_slide_files(tmp_path), case=case)
    log_in(page, "path")
    page.goto(f"/pathology/slides/{slide.pk}/")
    expect(page.locator("#slide-viewer canvas").first).to_be_visible()
    assert_no_serious_a11y_violations(page)


def test_the_imaging_viewer(page: Page, oncologist: User, team: Team) -> None:
    case = CaseFactory.create(patient__teams=[team])
    upload = ingest(case, {"sts.zip": sts_zip("CT", "PET")}, oncologist)
    assert upload.status == "stored", upload.error
    log_in(page, oncologist.username)
    open_case(page, case)
    page.locator("#section-imaging").get_by_role("link", name="View").first.click()
    page.wait_for_url("**/imaging/series/*/")
    expect(page.locator("#viewer-slice")).to_be_visible()
    assert_no_serious_a11y_violations(page)
    page.get_by_role("link", name="Coronal").click()  # after an htmx swap of the panel
    expect(page.locator("#viewer-slice")).to_have_attribute("src", re.compile("coronal"))
    assert_no_serious_a11y_violations(page)
