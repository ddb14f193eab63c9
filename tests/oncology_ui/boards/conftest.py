"""A breast tumor board with one meeting whose agenda holds the cast's breast case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from oncology_ui.boards import services
from oncology_ui.boards.models import AgendaItem, Board, Decision, Meeting
from tests.factories import PASSWORD
from tests.oncology_ui.conftest import Cast


@dataclass
class BoardCast:
    board: Board
    meeting: Meeting
    item: AgendaItem
    other_board: Board
    other_meeting: Meeting


@pytest.fixture
def boards(cast: Cast) -> BoardCast:
    board = services.board_create(
        name="Breast tumor board", site="main", specialty="Breast", team=cast.breast_team
    )
    meeting = services.meeting_create(
        board=board,
        date=dt.date(2025, 3, 4),
        created_by=cast.oncologist,
        attendees=[cast.oncologist, cast.pathologist],
    )
    item = services.agenda_item_add(meeting=meeting, case=cast.case, presenter=cast.oncologist)
    other_board = services.board_create(
        name="Thoracic tumor board", site="main", specialty="Thoracic", team=cast.lung_team
    )
    other_meeting = services.meeting_create(
        board=other_board, date=dt.date(2025, 3, 5), created_by=cast.outsider
    )
    services.agenda_item_add(meeting=other_meeting, case=cast.other_case)
    return BoardCast(board, meeting, item, other_board, other_meeting)


def decision_signed(cast: Cast, boards: BoardCast, **fields: Any) -> Decision:
    """The board's decision on the cast's case (``fields`` as the form gives them), recorded at
    the breast board's meeting and signed by the cast's oncologist."""
    decision = services.decision_record(
        case=cast.case, created_by=cast.oncologist, meeting=boards.meeting, **fields
    )
    return services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password=PASSWORD)
