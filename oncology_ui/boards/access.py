"""Who may see a board, meeting, agenda item or decision: members of the board's care team.

Like ``patients.access``, anything else answers 404 and writes one denied audit row.
"""

from __future__ import annotations

from django.http import HttpRequest

from oncology_ui.boards.models import AgendaItem, Board, Decision, Meeting
from oncology_ui.core.querysets import one_or_denied
from oncology_ui.patients.models import Case


def board_for_user(
    request: HttpRequest, board_id: int, *, permission: str = "boards.view_board"
) -> Board:
    return Board.objects.visible_or_denied(
        request, board_id, permission=permission, category="board", kind="board"
    )


def meeting_for_user(
    request: HttpRequest, meeting_id: int, *, permission: str = "boards.view_meeting"
) -> Meeting:
    return Meeting.objects.select_related("board__team").visible_or_denied(
        request, meeting_id, permission=permission, category="meeting", kind="meeting"
    )


def item_for_user(
    request: HttpRequest, item_id: int, *, permission: str = "boards.view_meeting"
) -> AgendaItem:
    items = AgendaItem.objects.filter(meeting__in=Meeting.objects.visible_to(request.user))
    items = items.select_related("meeting__board", "case__patient")
    return one_or_denied(
        request, items, item_id, permission=permission, category="agenda", kind="agenda"
    )


def decision_for_user(
    request: HttpRequest, decision_id: int, *, permission: str = "boards.view_decision"
) -> Decision:
    decisions = Decision.objects.filter(case__in=Case.objects.visible_to(request.user))
    decisions = decisions.select_related("case__patient", "meeting")
    return one_or_denied(
        request, decisions, decision_id, permission=permission, category="decision", kind="decision"
    )
