"""The demo's tumor boards: one per demo care team, and a meeting holding the ready cases."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from oncology_ui.boards.models import AgendaItem, Board, Meeting
from oncology_ui.patients.demo import DEMO_SITE, demo_records_load
from oncology_ui.patients.models import Case

pytestmark = pytest.mark.django_db


def _seed() -> None:
    call_command("seed_demo", "--without-reference-data", stdout=StringIO())


def _snapshot() -> tuple[int, int, int]:
    return Board.objects.count(), Meeting.objects.count(), AgendaItem.objects.count()


def test_the_demo_seeds_a_board_per_team_and_a_meeting_with_the_ready_cases() -> None:
    _seed()
    teams = demo_records_load()["teams"]
    boards = Board.objects.filter(site=DEMO_SITE).select_related("team")
    assert sorted(board.team.name for board in boards) == sorted(teams)

    ready = list(Case.objects.filter(patient__site=DEMO_SITE, status=Case.Status.READY))
    assert ready, "the demo marks some cases ready for board"
    for case in ready:
        item = AgendaItem.objects.select_related("meeting__board").get(case=case)
        assert item.meeting.date == case.board_date
        assert case.patient.teams.filter(pk=item.meeting.board.team_id).exists()
        assert item.presenter is not None
        assert item.meeting.attendees.exists()

    before = _snapshot()
    _seed()
    assert _snapshot() == before  # a rerun creates nothing twice


def test_the_demo_oncologist_opens_the_seeded_meeting_and_its_board_mode() -> None:
    _seed()
    client = Client()
    client.force_login(User.objects.get(username="demo.oncologist"))
    meeting = Meeting.objects.filter(board__site=DEMO_SITE).first()
    assert meeting is not None
    listing = client.get(reverse("boards-list")).content.decode()
    assert reverse("boards-meeting", args=[meeting.pk]) in listing
    board = client.get(reverse("boards-board-mode", args=[meeting.pk]))
    assert board.status_code == 200
    assert meeting.items.get().case.primary_diagnosis in board.content.decode()
