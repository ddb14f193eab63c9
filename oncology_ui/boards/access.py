"""Who may see a board, meeting, agenda item or decision: members of the board's care team.

Like ``patients.access``, anything else answers 404 and writes one denied audit row.
"""

from __future__ import annotations

from django.http import HttpRequest

from oncology_ui.boards.models import AgendaItem, Board, Decision, Meeting
from oncology_ui.core.audit import access_denied
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
    meetings = Meeting.objects.visible_to(request.user)
    item = (
        AgendaItem.objects.filter(pk=item_id, meeting__in=meetings)
        .select_related("meeting__board", "case__patient")
        .first()
    )
    if item is None or not request.user.has_perm(permission):
        raise access_denied(request, category="agenda", object_ref=f"agenda:{item_id}")
    return item


def decision_for_user(
    request: HttpRequest, decision_id: int, *, permission: str = "boards.view_decision"
) -> Decision:
    cases = Case.objects.visible_to(request.user)
    decision = (
        Decision.objects.filter(pk=decision_id, case__in=cases)
        .select_related("case__patient", "meeting")
        .first()
    )
    if decision is None or not request.user.has_perm(permission):
        raise access_denied(request, category="decision", object_ref=f"decision:{decision_id}")
    return decision
