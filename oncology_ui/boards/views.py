"""Tumor board pages: meetings and agenda, board mode, decisions, sign-off and outcomes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from oncology_ui.analysis.sections import prognosis_section
from oncology_ui.boards import services
from oncology_ui.boards.access import (
    board_for_user,
    decision_for_user,
    item_for_user,
    meeting_for_user,
)
from oncology_ui.boards.forms import (
    AgendaItemForm,
    AttendeesForm,
    ChecklistForm,
    DecisionForm,
    MeetingForm,
    OutcomeForm,
    SignForm,
)
from oncology_ui.boards.models import AgendaItem, Board, Decision, Meeting
from oncology_ui.boards.preparation import agenda_preparation
from oncology_ui.boards.selectors import (
    board_administrators,
    board_decision_panel,
    board_mode_panels,
    board_section,
    current_decision,
    discordance_register,
    meeting_ready_cases,
    outcomes_review,
)
from oncology_ui.core.audit import audit_case, audit_patients, audit_record
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.models import Case
from oncology_ui.patients.sections import section_response


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _board_item(request: AuthedRequest, case: Case) -> AgendaItem | None:
    """The agenda item a board-mode form was posted from (its hidden ``board_item``), if any."""
    raw = request.POST.get("board_item", "")
    if not raw.isdigit():
        return None
    item = item_for_user(request, int(raw))
    return item if item.case_id == case.pk else None


def _board_section(
    request: AuthedRequest,
    case: Case,
    notice: tuple[int, str] | None = None,
    *,
    refused_form: DecisionForm | None = None,
) -> HttpResponse:
    """After a decision change: back where it was made, the case page or board mode.

    The case page's board section (htmx) or the case page; from board mode, its decision panel
    (htmx) or board mode at the same case. The notice goes inside the swapped part for htmx (the
    page's message area is not part of the swap), or into the messages framework for the
    full-page redirect. A decision refused in board mode comes back with what was typed.
    """
    item = _board_item(request, case)
    extra = (
        {"board_notice": {"error": notice[0] == messages.ERROR, "text": notice[1]}}
        if notice is not None
        else {}
    )
    kept = {"decision_form": refused_form, "decision_form_open": True} if refused_form else {}
    if item is not None and request.htmx:
        context = {**board_decision_panel(request, item), **extra, **kept}
        return render(request, "boards/board_mode.html#board-decision", context)
    if request.htmx:
        return section_response(request, case, "board", board_section, extra)
    if item is not None and refused_form is not None:
        # Without JavaScript a redirect would drop what was typed: show board mode again.
        context = _board_mode_context(request, item.meeting, _position(item))
        context.update({**extra, **kept})
        return render(request, "boards/board_mode.html", context, status=400)
    if notice is not None:
        messages.add_message(request, notice[0], notice[1])
    if item is not None:
        url = reverse("boards-board-mode", args=[item.meeting_id])
        return redirect(f"{url}?position={_position(item)}#board-decision")
    return redirect("patients-case", case_id=case.pk)


def _audit_decision(
    request: AuthedRequest, action: str, category: str, case: Case, decision: Decision
) -> None:
    audit_case(
        request=request,
        action=action,
        category=category,
        case=case,
        object_ref=f"decision:{decision.pk}",
    )


def _position(item: AgendaItem) -> int:
    return list(item.meeting.items.values_list("pk", flat=True)).index(item.pk) + 1


@login_required
@require_GET
def meeting_list(request: AuthedRequest) -> HttpResponse:
    meetings = (
        Meeting.objects.visible_to(request.user).select_related("board").prefetch_related("items")
        if request.user.has_perm("boards.view_meeting")
        else Meeting.objects.none()
    )
    return render(
        request,
        "boards/meeting_list.html",
        {
            "meetings": meetings,
            "boards": Board.objects.visible_to(request.user),
            "form": MeetingForm(user=request.user),
            "can_manage": request.user.has_perm("boards.add_meeting"),
            "can_add_board": request.user.has_perm("boards.add_board"),
            "all_board_count": (
                Board.objects.count() if request.user.has_perm("boards.add_board") else 0
            ),
            "administrators": board_administrators(),
        },
    )


@login_required
@permission_required("boards.add_meeting", raise_exception=True)
@require_POST
def meeting_create(request: AuthedRequest) -> HttpResponse:
    form = MeetingForm(request.POST, user=request.user)
    if form.is_valid():
        meeting = services.meeting_create(
            board=form.cleaned_data["board"],
            date=form.cleaned_data["date"],
            title=form.cleaned_data["title"],
            created_by=request.user,
            attendees=[request.user],
        )
        audit_record(
            request=request,
            action=AccessLog.Action.CREATE,
            category="meeting",
            object_ref=f"meeting:{meeting.pk}",
        )
        return redirect("boards-meeting", meeting_id=meeting.pk)
    messages.error(request, "The meeting was not created: choose a board and a date.")
    return redirect("boards-list")


def _meeting_context(request: AuthedRequest, meeting: Meeting) -> dict[str, object]:
    items = list(meeting.items.select_related("case__patient", "presenter"))
    agenda_preparation(items)
    packets = Job.objects.filter(
        kind="board_packet", target_model="boards.meeting", target_id=meeting.pk
    ).order_by("-created_at")[:3]
    return {
        "meeting": meeting,
        "items": items,
        "attendees": list(meeting.attendees.all()),
        "agenda_form": AgendaItemForm(meeting=meeting, user=request.user),
        "attendees_form": AttendeesForm(meeting=meeting),
        "can_manage": request.user.has_perm("boards.change_meeting"),
        "can_check": request.user.has_perm("boards.change_agendaitem"),
        "ready_cases": (
            list(meeting_ready_cases(meeting, request.user))
            if request.user.has_perm("boards.add_agendaitem")
            else []
        ),
        "packets": list(packets),
        "decisions": {item.case_id: current_decision(item.case) for item in items},
    }


@login_required
@require_GET
def meeting_detail(request: AuthedRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_for_user(request, meeting_id)
    context = _meeting_context(request, meeting)
    # The agenda shows each patient's name and diagnosis: one view row per patient shown.
    audit_patients(
        request=request,
        action=AccessLog.Action.VIEW,
        category="meeting-agenda",
        patient_ids=(item.case.patient_id for item in context["items"]),  # type: ignore[attr-defined]
        object_ref=f"meeting:{meeting.pk}",
    )
    return render(request, "boards/meeting_detail.html", context)


@login_required
@require_POST
def meeting_attendees(request: AuthedRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_for_user(request, meeting_id, permission="boards.change_meeting")
    form = AttendeesForm(request.POST, meeting=meeting)
    if form.is_valid():
        services.meeting_set_attendees(meeting=meeting, attendees=form.cleaned_data["attendees"])
    return redirect("boards-meeting", meeting_id=meeting.pk)


@login_required
@require_POST
def agenda_add(request: AuthedRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_for_user(request, meeting_id, permission="boards.add_agendaitem")
    form = AgendaItemForm(request.POST, meeting=meeting, user=request.user)
    if form.is_valid():
        try:
            services.agenda_item_add(
                meeting=meeting,
                case=form.cleaned_data["case"],
                presenter=form.cleaned_data["presenter"],
            )
        except ValidationError as error:
            messages.error(request, _errors(error))
    else:
        messages.error(request, "Choose a case of this board's care team.")
    return redirect("boards-meeting", meeting_id=meeting.pk)


@login_required
@require_POST
def item_checklist(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = item_for_user(request, item_id, permission="boards.change_agendaitem")
    form = ChecklistForm(request.POST, instance=item)
    if form.is_valid():
        # What the record shows is ticked already; the form only confirms the rest by hand.
        open_checks = [check.name for check in item.preparation if not check.in_record]
        services.agenda_item_checklist(
            item=item, **{name: form.cleaned_data[name] for name in open_checks}
        )
    if request.htmx:
        item.refresh_from_db()
        item.preparation_cache = None
        return render(
            request,
            "boards/meeting_detail.html#checklist",
            {"item": item, "can_check": True},
        )
    return redirect("boards-meeting", meeting_id=item.meeting_id)


@login_required
@require_POST
def item_move(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = item_for_user(request, item_id, permission="boards.change_meeting")
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.agenda_item_move(item=item, offset=offset)
    return redirect("boards-meeting", meeting_id=item.meeting_id)


@login_required
@require_GET
def board_mode(request: AuthedRequest, meeting_id: int) -> HttpResponse:
    """One case at a time for the wall screen: the case, its options, trials, key labs and
    prognosis read-only, and the board's decision recorded (and signed) in place."""
    meeting = meeting_for_user(request, meeting_id)
    try:
        position = int(request.GET.get("position", "1"))
    except ValueError:
        position = 1
    return render(
        request, "boards/board_mode.html", _board_mode_context(request, meeting, position)
    )


def _board_mode_context(request: AuthedRequest, meeting: Meeting, position: int) -> dict[str, Any]:
    items = list(meeting.items.select_related("case__patient", "presenter"))
    position = max(1, min(len(items), position))
    context: dict[str, Any] = {"meeting": meeting, "count": len(items), "position": position}
    if items:
        item = items[position - 1]
        case = item.case
        audit_case(request=request, action=AccessLog.Action.VIEW, category="board-mode", case=case)
        prognosis = prognosis_section(request, case)
        prognosis["can_analyse"] = False  # no editing chrome on the wall screen
        context.update(prognosis)
        context.update(board_mode_panels(request, item))
        context.update(board_decision_panel(request, item))
        context.update(
            {
                "item": item,
                "case": case,
                "patient": case.patient,
                "events": list(case.events.all()),
                "previous_position": position - 1 if position > 1 else None,
                "next_position": position + 1 if position < len(items) else None,
            }
        )
    return context


@login_required
@require_POST
def decision_save(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="boards.add_decision")
    notice: tuple[int, str]
    draft = current_decision(case)
    meetings = Meeting.objects.visible_to(request.user).filter(items__case=case)
    meeting = draft.meeting if draft and draft.meeting else meetings.order_by("-date").first()
    item = _board_item(request, case)
    if item is not None:
        meeting = item.meeting  # recorded in board mode: the meeting on the wall
    form = DecisionForm(request.POST, case=case, meeting=meeting)
    if form.is_valid():
        try:
            decision = services.decision_record(
                case=case, created_by=request.user, meeting=meeting, **form.cleaned_data
            )
        except ValidationError as error:
            notice = (messages.ERROR, _errors(error))
        else:
            _audit_decision(request, AccessLog.Action.UPDATE, "board-decision", case, decision)
            notice = (messages.SUCCESS, f"Decision version {decision.version} saved as a draft.")
    else:
        notice = (messages.ERROR, "The decision was not saved: check the fields.")
    refused = form if notice[0] == messages.ERROR else None
    return _board_section(request, case, notice, refused_form=refused)


@login_required
@require_POST
def decision_sign(request: AuthedRequest, decision_id: int) -> HttpResponse:
    decision = decision_for_user(request, decision_id, permission="boards.sign_decision")
    _board_item(request, decision.case)  # a foreign agenda item is refused before signing
    form = SignForm(request.POST)
    if not form.is_valid():
        notice = (messages.ERROR, "Re-enter your password to sign.")
        return _board_section(request, decision.case, notice)
    try:
        signed = services.decision_sign(
            decision_id=decision.pk,
            user=request.user,
            password=form.cleaned_data["password"],
            otp_token=form.cleaned_data["otp_token"],
            request=request,
        )
    except ValidationError as error:
        notice = (messages.ERROR, _errors(error))
    except services.SignConflict as conflict:
        notice = (messages.ERROR, str(conflict))
    else:
        _audit_decision(request, AccessLog.Action.UPDATE, "board-signature", decision.case, signed)
        notice = (messages.SUCCESS, f"Decision version {signed.version} signed and locked.")
    return _board_section(request, decision.case, notice)


@login_required
@require_POST
def decision_amend(request: AuthedRequest, decision_id: int) -> HttpResponse:
    decision = decision_for_user(request, decision_id, permission="boards.add_decision")
    _board_item(request, decision.case)  # a foreign agenda item is refused before amending
    try:
        amendment = services.decision_amend(decision=decision, user=request.user)
    except services.SignConflict as conflict:
        notice = (messages.ERROR, str(conflict))
    else:
        _audit_decision(
            request, AccessLog.Action.CREATE, "board-decision", decision.case, amendment
        )
        notice = (
            messages.INFO,
            f"Amendment version {amendment.version} started; version {decision.version} stays "
            "in force until the amendment is signed.",
        )
    return _board_section(request, decision.case, notice)


@login_required
@require_POST
def outcome_create(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id, permission="boards.add_outcomerecord")
    form = OutcomeForm(request.POST)
    if form.is_valid():
        try:
            record = services.outcome_record(
                case=case, created_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            notice = (messages.ERROR, _errors(error))
        else:
            audit_case(
                request=request,
                action=AccessLog.Action.CREATE,
                category="outcome",
                case=case,
                object_ref=f"outcome:{record.pk}",
            )
            notice = (messages.SUCCESS, "Outcome recorded.")
    else:
        notice = (messages.ERROR, "The outcome was not recorded: give its kind and date.")
    return _board_section(request, case, notice)


@login_required
@require_GET
def board_outcomes(request: AuthedRequest, board_id: int) -> HttpResponse:
    board = board_for_user(request, board_id, permission="boards.view_outcomes")
    audit_record(
        request=request,
        action=AccessLog.Action.VIEW,
        category="outcomes",
        object_ref=f"board:{board.pk}",
    )
    return render(request, "boards/outcomes.html", {"board": board, **outcomes_review(board)})


@login_required
@permission_required("boards.view_discordance", raise_exception=True)
@require_GET
def discordance(request: AuthedRequest) -> HttpResponse:
    audit_record(request=request, action=AccessLog.Action.VIEW, category="discordance-register")
    return render(request, "boards/discordance.html", {"decisions": discordance_register()})
