"""A meeting runs in board mode on the wall screen, then the packet is built and downloaded."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from oncology_ui.boards import services
from oncology_ui.boards.models import Decision
from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.therapies.kb import kb_load
from oncology_ui.therapies.services import ranking_compute
from oncology_ui.trials.services import trial_match_request
from tests.e2e.browser import BROWSER_MARKS, log_in, log_in_with_code
from tests.factories import (
    PASSWORD,
    CaseFactory,
    PatientFactory,
    UserFactory,
    totp_code,
    totp_device_enrol,
)
from tests.oncology_ui.therapies.factories import BiomarkerFactory
from tests.oncology_ui.trials.factories import fit_breast_case, import_trials, trial_record

pytestmark = BROWSER_MARKS


def test_a_meeting_runs_in_board_mode_and_its_packet_downloads(
    page: Page, team: Team, oncologist: User, settings: LazySettings
) -> None:
    # The live server runs in this process: the packet job runs on the in-process executor.
    settings.JOBS_BACKEND = "inprocess"
    board = services.board_create(name="Breast board", site="main", specialty="Breast", team=team)
    meeting = services.meeting_create(
        board=board, date=dt.date(2025, 3, 4), created_by=oncologist, attendees=[oncologist]
    )
    first = CaseFactory.create(
        patient=PatientFactory.create(teams=[team]), primary_diagnosis="First breast primary"
    )
    second = CaseFactory.create(
        patient=PatientFactory.create(teams=[team]), primary_diagnosis="Second breast primary"
    )
    for case in (first, second):
        services.agenda_item_add(meeting=meeting, case=case, presenter=oncologist)

    log_in(page, oncologist.username)
    page.goto(f"/boards/meetings/{meeting.pk}/")
    page.get_by_role("link", name="Board mode").click()
    heading = page.locator("#board-case h1")
    expect(heading).to_contain_text("First breast primary")
    expect(page.locator(".board-position")).to_contain_text("case 1 of 2")
    # No editing chrome on the wall: the decision panel is the only place with forms.
    expect(page.locator("main form:not(#board-decision form)")).to_have_count(0)
    page.get_by_role("link", name="Next →").click()
    expect(heading).to_contain_text("Second breast primary")
    page.keyboard.press("ArrowLeft")  # the clicker keys drive it too (static/boards JS)
    expect(heading).to_contain_text("First breast primary")

    page.get_by_role("link", name="Leave board mode").click()
    page.get_by_role("button", name="Build board packet (PDF)").click()
    link = page.get_by_role("link", name=re.compile("Download board packet"))
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as download_info:
        link.click()
    path = download_info.value.path()
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    text = " ".join(page_.extract_text() for page_ in reader.pages)
    assert "Breast board — tumor board packet" in text
    assert f"Case {first.pk}" in text and f"Case {second.pk}" in text


@pytest.mark.usefixtures("bm25_only_trials")
def test_the_chair_reads_options_trials_and_labs_and_records_the_decision_in_board_mode(
    page: Page,
    team: Team,
) -> None:
    kb_load()
    chair = UserFactory.create(username="chair", role=roles.ONCOLOGIST, teams=[team])
    board = services.board_create(name="Breast board", site="main", specialty="Breast", team=team)
    meeting = services.meeting_create(
        board=board, date=dt.date.today(), created_by=chair, attendees=[chair]
    )
    case = fit_breast_case(
        CaseFactory.create(
            patient__teams=[team],
            primary_diagnosis="Breast primary for the board",
            stage_group="IIA",
        )
    )
    BiomarkerFactory.create(case=case, name="ER", status="positive")
    ranking = ranking_compute(case=case, user=chair)
    import_trials(trial_record())
    match = trial_match_request(case=case, user=chair)
    assert match.job is not None
    job_run(match.job.pk)
    services.agenda_item_add(meeting=meeting, case=case, presenter=chair)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Signing needs a second factor: the chair has an authenticator app, asked for at sign-in.
    device = totp_device_enrol(chair)
    log_in_with_code(page, "chair", totp_code(device))
    page.goto("/boards/")
    page.get_by_role("link", name=f"{meeting.date:%Y-%m-%d}").click()
    page.get_by_role("link", name="Board mode").click()
    expect(page.locator("#board-case h1")).to_contain_text("Breast primary for the board")
    expect(page.locator("#board-therapies")).to_contain_text(ranking.option_labels[0])
    expect(page.locator("#board-trials")).to_contain_text("NCT90000001")
    expect(page.locator("#board-labs")).to_contain_text("Neutrophils (absolute)")

    page.evaluate("window.__noReload = true")  # the decision is recorded by htmx, in place
    panel = page.locator("#board-decision")
    panel.get_by_label("Therapy").fill(ranking.option_labels[0])
    panel.get_by_label("Follow up").fill("Review at the next board")
    panel.get_by_role("button", name="Save draft").click()
    expect(panel).to_contain_text("Decision version 1 saved as a draft.")
    panel.get_by_label("Re-enter your password to sign").fill(PASSWORD)
    panel.get_by_label("Code from your authenticator app").fill(totp_code(device, steps_ahead=1))
    panel.get_by_role("button", name="Sign decision").click()
    expect(panel).to_contain_text("Decision version 1 signed and locked.")
    expect(panel).to_contain_text("Signed by")
    assert page.evaluate("window.__noReload") is True
    assert page.locator("#board-case h1").is_visible()  # still in board mode
    decision = Decision.objects.get(case=case)
    assert decision.status == Decision.Status.SIGNED and decision.meeting == meeting
    assert errors == []
