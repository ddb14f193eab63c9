"""A meeting runs in board mode on the wall screen, then the packet is built and downloaded."""

from __future__ import annotations

import datetime as dt
import io
import re

from django.conf import LazySettings
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from oncology_ui.boards import services
from oncology_ui.core import roles
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.factories import PASSWORD, CaseFactory, PatientFactory, TeamFactory, UserFactory

pytestmark = BROWSER_MARKS


def test_a_meeting_runs_in_board_mode_and_its_packet_downloads(
    page: Page, settings: LazySettings
) -> None:
    # The live server runs in this process: the packet job runs on the in-process executor.
    settings.JOBS_BACKEND = "inprocess"
    team = TeamFactory.create(name="Breast MDT")
    onco = UserFactory.create(username="onco", role=roles.ONCOLOGIST, teams=[team])
    board = services.board_create(name="Breast board", site="main", specialty="Breast", team=team)
    meeting = services.meeting_create(
        board=board, date=dt.date(2025, 3, 4), created_by=onco, attendees=[onco]
    )
    first = CaseFactory.create(
        patient=PatientFactory.create(teams=[team]), primary_diagnosis="First breast primary"
    )
    second = CaseFactory.create(
        patient=PatientFactory.create(teams=[team]), primary_diagnosis="Second breast primary"
    )
    for case in (first, second):
        services.agenda_item_add(meeting=meeting, case=case, presenter=onco)

    log_in(page, "onco", PASSWORD)
    page.goto(f"/boards/meetings/{meeting.pk}/")
    page.get_by_role("link", name="Board mode").click()
    heading = page.locator("#board-case h1")
    expect(heading).to_contain_text("First breast primary")
    expect(page.locator(".board-position")).to_contain_text("case 1 of 2")
    expect(page.locator("main form")).to_have_count(0)  # no editing chrome on the wall
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
