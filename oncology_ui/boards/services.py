"""Writes for tumor boards: meetings, agendas, decisions, signatures and outcomes."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import UTC, date
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.analysis.models import Prediction
from oncology_ui.boards.models import (
    SIGNATURE_MEANING,
    AgendaItem,
    Board,
    Decision,
    Meeting,
    OutcomeRecord,
)
from oncology_ui.boards.options import model_top_option
from oncology_ui.core.esignature import signer_reauthenticate
from oncology_ui.core.models import Team
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.services import timeline_event_create

logger = logging.getLogger(__name__)


class SignConflict(Exception):
    """Somebody else signed (or amended) the decision first."""


@transaction.atomic
def board_create(*, name: str, site: str, specialty: str, team: Team) -> Board:
    board = Board(name=name, site=site, specialty=specialty, team=team)
    board.full_clean()
    board.save()
    return board


@transaction.atomic
def meeting_create(
    *, board: Board, date: date, created_by: User, title: str = "", attendees: Iterable[User] = ()
) -> Meeting:
    meeting = Meeting(board=board, date=date, title=title, created_by=created_by)
    meeting.full_clean()
    meeting.save()
    people = list(attendees)
    outsiders = [user for user in people if not board.team.members.filter(pk=user.pk).exists()]
    if outsiders:
        raise ValidationError({"attendees": "Attendees must belong to the board's care team."})
    meeting.attendees.set(people)
    return meeting


@transaction.atomic
def meeting_set_attendees(*, meeting: Meeting, attendees: Iterable[User]) -> Meeting:
    people = list(attendees)
    if any(not meeting.board.team.members.filter(pk=user.pk).exists() for user in people):
        raise ValidationError({"attendees": "Attendees must belong to the board's care team."})
    meeting.attendees.set(people)
    return meeting


@transaction.atomic
def agenda_item_add(*, meeting: Meeting, case: Case, presenter: User | None = None) -> AgendaItem:
    """Put a case on the agenda, last; its patient must be in the board's care team."""
    # Otherwise board members outside the patient's team would see the patient on the agenda.
    if not case.patient.teams.filter(pk=meeting.board.team_id).exists():
        raise ValidationError({"case": "The patient is not in this board's care team."})
    if AgendaItem.objects.filter(meeting=meeting, case=case).exists():
        raise ValidationError({"case": "This case is already on the agenda."})
    last = AgendaItem.objects.filter(meeting=meeting).aggregate(last=Max("order"))["last"] or 0
    item = AgendaItem(meeting=meeting, case=case, presenter=presenter, order=last + 1)
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def agenda_item_move(*, item: AgendaItem, offset: int) -> None:
    """Swap an item with its neighbour (offset -1 up, +1 down) and renumber 1..n."""
    items = list(AgendaItem.objects.select_for_update().filter(meeting=item.meeting_id))
    index = next(i for i, other in enumerate(items) if other.pk == item.pk)
    target = index + offset
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    for position, other in enumerate(items, start=1):
        if other.order != position:
            other.order = position
            other.save(update_fields=["order"])


@transaction.atomic
def agenda_item_checklist(*, item: AgendaItem, **checks: bool) -> AgendaItem:
    for name, value in checks.items():
        if name not in AgendaItem.CHECKLIST:
            raise ValueError(f"not a checklist item: {name}")
        setattr(item, name, bool(value))
    item.save(update_fields=list(checks))
    return item


def _prognosis_snapshot(prediction: Prediction | None) -> dict[str, Any]:
    if prediction is None or prediction.status != Prediction.Status.OK:
        return {}
    return {
        "prediction_id": prediction.pk,
        "model": f"{prediction.model_name} {prediction.model_version}",
        "median_months": prediction.median_months,
        "survival_at": prediction.survival_at,
    }


def _decision_check(decision: Decision) -> None:
    # Discordance is the board choosing differently from the model's top option.
    top = decision.model_top_option.strip().casefold()
    chosen = decision.therapy.strip().casefold()
    if top and chosen and top != chosen:
        decision.is_discordant = True
    if decision.is_discordant and not decision.discordance_reason.strip():
        raise ValidationError(
            {"discordance_reason": "The board chose differently from the model: say why."}
        )
    if not any(
        part.strip()
        for part in (
            decision.therapy,
            decision.trial_referral,
            decision.further_tests,
            decision.follow_up,
        )
    ):
        raise ValidationError(
            "Record at least one recommendation: therapy, trial referral, tests or follow-up."
        )
    decision.full_clean()


@transaction.atomic
def decision_record(
    *,
    case: Case,
    created_by: User,
    meeting: Meeting | None = None,
    agreeing: Iterable[User] = (),
    **fields: Any,
) -> Decision:
    """Record (or replace) the draft decision of a case; signed versions are never touched."""
    Case.objects.select_for_update().filter(pk=case.pk).first()  # one writer per case at a time
    latest = Decision.objects.filter(case=case).order_by("-version").first()
    if latest is not None and latest.status == Decision.Status.DRAFT:
        decision = latest
    else:
        decision = Decision(
            case=case,
            version=(latest.version + 1) if latest else 1,
            supersedes=latest,
            created_by=created_by,
        )
    prediction = Prediction.objects.filter(case=case).first()
    decision.meeting = meeting or decision.meeting
    decision.prediction = prediction
    decision.model_prognosis = _prognosis_snapshot(prediction)
    decision.model_top_option = model_top_option(case)
    decision.is_discordant = False
    for name in Decision.RECOMMENDATION_FIELDS:
        if name in fields:
            setattr(decision, name, fields[name])
    _decision_check(decision)
    decision.save()
    decision.agreeing.set(list(agreeing))
    return decision


def decision_update(
    *, decision: Decision, user: User, agreeing: Iterable[User] = (), **fields: Any
) -> Decision:
    """Change a draft; a signed (locked) decision is refused and must be amended instead."""
    if Decision.objects.get(pk=decision.pk).is_locked:
        raise ValidationError("This decision is signed and locked; amend it to change it.")
    return decision_record(
        case=decision.case, created_by=user, meeting=decision.meeting, agreeing=agreeing, **fields
    )


def decision_content(decision: Decision) -> dict[str, Any]:
    """The signed content: what the hash covers (the recommendation, not the page around it)."""
    return {
        "decision": decision.pk,
        "case": decision.case_id,
        "version": decision.version,
        "supersedes": decision.supersedes_id,
        "meeting": decision.meeting_id,
        **{name: getattr(decision, name) for name in Decision.RECOMMENDATION_FIELDS},
        "agreeing": sorted(decision.agreeing.values_list("pk", flat=True)),
        "model_top_option": decision.model_top_option,
        "model_prognosis": decision.model_prognosis,
        "signed_by": decision.signed_by_id,
        "signed_name": decision.signed_name,
        "signed_at": decision.signed_at.isoformat() if decision.signed_at else None,
        "meaning": decision.signature_meaning,
    }


def decision_hash(decision: Decision) -> str:
    body = json.dumps(decision_content(decision), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def decision_sign(
    *,
    decision_id: int,
    user: User,
    password: str,
    otp_token: str = "",
    request: HttpRequest | None = None,
) -> Decision:
    """Sign a draft decision after the signer re-enters their password and second-factor code.

    Two signers at once: the row lock makes the second wait, then find it signed and get a
    ``SignConflict``; exactly one signature is stored.
    """
    signer_reauthenticate(user=user, password=password, otp_token=otp_token, request=request)
    with transaction.atomic():
        decision = Decision.objects.select_for_update().get(pk=decision_id)
        if decision.status != Decision.Status.DRAFT:
            who = decision.signed_name or "another user"
            raise SignConflict(
                f"This decision was already signed by {who}"
                + (f" at {decision.signed_at:%Y-%m-%d %H:%M} UTC" if decision.signed_at else "")
                + "; nothing was signed. Reload to see the signed version."
            )
        decision.signed_by = user
        decision.signed_name = user.get_full_name() or user.get_username()
        decision.signed_at = timezone.now().astimezone(UTC)
        decision.signature_meaning = SIGNATURE_MEANING
        decision.status = Decision.Status.SIGNED
        decision.content_hash = decision_hash(decision)
        decision.save()
        if decision.supersedes_id:
            Decision.objects.filter(pk=decision.supersedes_id).update(
                status=Decision.Status.SUPERSEDED
            )
        Case.objects.filter(pk=decision.case_id, status=Case.Status.READY).update(
            status=Case.Status.DISCUSSED
        )
    logger.info("decision %s signed by user %s", decision.pk, user.pk)
    return decision


@transaction.atomic
def decision_amend(*, decision: Decision, user: User) -> Decision:
    """Start a new draft version from a signed decision (the old one is superseded on signing)."""
    locked = Decision.objects.select_for_update().get(pk=decision.pk)
    if locked.status != Decision.Status.SIGNED:
        raise SignConflict("Only the current signed decision can be amended.")
    existing = Decision.objects.filter(supersedes=locked).first()
    if existing is not None:
        return existing
    amendment = Decision(
        case=locked.case,
        meeting=locked.meeting,
        version=locked.version + 1,
        supersedes=locked,
        created_by=user,
        prediction=locked.prediction,
        model_top_option=locked.model_top_option,
        model_prognosis=locked.model_prognosis,
        **{name: getattr(locked, name) for name in Decision.RECOMMENDATION_FIELDS},
    )
    amendment.full_clean()
    amendment.save()
    amendment.agreeing.set(list(locked.agreeing.all()))
    return amendment


_TIMELINE_KIND = {
    OutcomeRecord.Kind.RESPONSE: TimelineEvent.Kind.RESPONSE,
    OutcomeRecord.Kind.PROGRESSION: TimelineEvent.Kind.PROGRESSION,
    OutcomeRecord.Kind.DEATH: TimelineEvent.Kind.DEATH,
    OutcomeRecord.Kind.LAST_CONTACT: TimelineEvent.Kind.LAST_FOLLOW_UP,
}


@transaction.atomic
def outcome_record(
    *,
    case: Case,
    created_by: User,
    kind: str,
    date: date,
    response: str = "",
    toxicity_grade: int | None = None,
    detail: str = "",
) -> OutcomeRecord:
    """Record an outcome; all but toxicity also go on the timeline (which updates the case)."""
    record = OutcomeRecord(
        case=case,
        kind=kind,
        date=date,
        response=response,
        toxicity_grade=toxicity_grade,
        detail=detail,
        created_by=created_by,
    )
    if kind == OutcomeRecord.Kind.TOXICITY and toxicity_grade is None:
        raise ValidationError({"toxicity_grade": "Give the CTCAE grade (1–5)."})
    if toxicity_grade is not None and not 1 <= toxicity_grade <= 5:
        raise ValidationError({"toxicity_grade": "CTCAE grades run from 1 to 5."})
    record.full_clean()
    timeline_kind = _TIMELINE_KIND.get(OutcomeRecord.Kind(kind))
    if timeline_kind is not None:
        record.event = timeline_event_create(
            case=case,
            created_by=created_by,
            kind=timeline_kind,
            date=date,
            response=response,
            title=f"{OutcomeRecord.Kind(kind).label} (board follow-up)",
            detail=detail,
        )
    record.save()
    return record
