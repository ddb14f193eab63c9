"""The demo's tumor boards: one per demo care team, and a meeting holding the ready cases."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from oncology_ui.boards.models import AgendaItem, Board, Meeting
from oncology_ui.demodata.seed import DEMO_SITE, demo_records_load
from oncology_ui.patients.models import Case
from tests.oncology_ui.conftest import signed_in_client

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
    client = signed_in_client(User.objects.get(username="demo.oncologist"))
    meeting = Meeting.objects.filter(board__site=DEMO_SITE).first()
    assert meeting is not None
    listing = client.get(reverse("boards-list")).content.decode()
    assert reverse("boards-meeting", args=[meeting.pk]) in listing
    board = client.get(reverse("boards-board-mode", args=[meeting.pk]))
    assert board.status_code == 200
    assert meeting.items.get().case.primary_diagnosis in board.content.decode()


@pytest.mark.slow
def test_the_cases_on_the_demo_board_arrive_analysed_ranked_and_matched() -> None:
    from oncology_ui.analysis.services import prediction_latest
    from oncology_ui.demodata.seed import demo_board_cases_prepare
    from oncology_ui.therapies.selectors import ranking_latest
    from oncology_ui.trials.models import TrialMatchResult
    from oncology_ui.trials.services import trial_match_latest
    from tests.oncology_ui.trials.factories import import_trials, trial_record

    _seed()
    call_command("load_therapy_kb", stdout=StringIO())
    import_trials(trial_record())
    author = User.objects.get(username="demo.oncologist")

    prepared = demo_board_cases_prepare(author=author)

    ready = list(Case.objects.filter(patient__site=DEMO_SITE, status=Case.Status.READY))
    assert sorted(prepared) == sorted(case.patient.mrn for case in ready)
    for case in ready:
        assert prediction_latest(case) is not None
        assert ranking_latest(case) is not None
        match = trial_match_latest(case)
        assert match is not None and match.job is not None
        assert match.job.status == "succeeded"
    before = TrialMatchResult.objects.count()
    demo_board_cases_prepare(author=author)
    assert TrialMatchResult.objects.count() == before  # a rerun keeps what is there
