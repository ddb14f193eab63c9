"""Reads for boards: the case-page section, the outcomes review and the discordance register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.boards.hooks import therapy_options
from oncology_ui.boards.models import AgendaItem, Board, Decision, Meeting, OutcomeRecord
from oncology_ui.patients.models import Case

YEAR_DAYS = 365.25
CALIBRATION_BINS: tuple[tuple[float, float], ...] = (
    (0.0, 0.25),
    (0.25, 0.5),
    (0.5, 0.75),
    (0.75, 1.0),
)


def current_decision(case: Case) -> Decision | None:
    """The signed decision in force, else the draft being prepared."""
    decisions = list(Decision.objects.filter(case=case).order_by("-version")[:5])
    signed = next((d for d in decisions if d.status == Decision.Status.SIGNED), None)
    return signed or (decisions[0] if decisions else None)


def board_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    """Data for the case page's "Tumor board" section."""
    from oncology_ui.boards.forms import DecisionForm, OutcomeForm, SignForm

    decisions = list(
        Decision.objects.filter(case=case).select_related("meeting").order_by("-version")
    )
    draft = next((d for d in decisions if d.status == Decision.Status.DRAFT), None)
    signed = next((d for d in decisions if d.status == Decision.Status.SIGNED), None)
    meetings = Meeting.objects.visible_to(request.user)
    items = list(
        AgendaItem.objects.filter(case=case, meeting__in=meetings)
        .select_related("meeting__board", "presenter")
        .order_by("-meeting__date")
    )
    user = request.user
    return {
        "board_items": items,
        "board_decisions": decisions,
        "board_draft": draft,
        "board_signed": signed,
        "board_can_decide": user.has_perm("boards.add_decision"),
        "board_can_sign": user.has_perm("boards.sign_decision"),
        "board_can_outcome": user.has_perm("boards.add_outcomerecord"),
        "board_decision_form": DecisionForm(
            case=case,
            meeting=draft.meeting if draft else (items[0].meeting if items else None),
            instance=draft,
        ),
        "board_sign_form": SignForm(),
        "board_outcome_form": OutcomeForm(),
        "board_outcomes": list(OutcomeRecord.objects.filter(case=case)[:10]),
        "board_options": therapy_options(case),
    }


def discordance_register() -> list[Decision]:
    """Signed decisions where the board chose differently from the model, newest first."""
    return list(
        Decision.objects.filter(is_discordant=True)
        .exclude(status=Decision.Status.DRAFT)
        .select_related("meeting__board", "case")
        .order_by("-signed_at")
    )


# --- how did our recommendations turn out -----------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """One signed case seen from its board date: days followed and whether death was the end."""

    decision: Decision
    predicted_1y: float | None
    days: float
    died: bool


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    cases: int
    mean_predicted: float | None
    observed: float | None  # Kaplan-Meier survival at one year
    at_risk_1y: int


def kaplan_meier_at(follow_ups: list[tuple[float, bool]], horizon: float) -> float | None:
    """Kaplan-Meier survival at ``horizon`` days from (days, died) pairs; None with no data.

    At tied times deaths are counted before censorings (the usual convention).
    """
    if not follow_ups:
        return None
    survival = 1.0
    at_risk = len(follow_ups)
    for days in sorted({d for d, _ in follow_ups}):
        if days > horizon:
            break
        deaths = sum(1 for d, died in follow_ups if d == days and died)
        leaving = sum(1 for d, _ in follow_ups if d == days)
        if deaths and at_risk:
            survival *= 1 - deaths / at_risk
        at_risk -= leaving
    return survival


def _predicted_1y(decision: Decision) -> float | None:
    for row in (decision.model_prognosis or {}).get("survival_at") or []:
        if row.get("years") == 1 and row.get("survival") is not None:
            return float(row["survival"])
    return None


def _follow_up(decision: Decision, today: date) -> FollowUp:
    patient = decision.case.patient
    start = decision.meeting.date if decision.meeting else decision.signed_at.date()  # type: ignore[union-attr]
    if patient.date_of_death:
        end, died = patient.date_of_death, True
    else:
        end, died = (patient.last_contact_date or start), False
    return FollowUp(decision, _predicted_1y(decision), max(0.0, float((end - start).days)), died)


def outcomes_review(board: Board, *, today: date | None = None) -> dict[str, Any]:
    """Predicted against observed survival for the board's signed cases, and concordance."""
    today = today or timezone.localdate()
    signed = list(
        Decision.objects.filter(meeting__board=board, status=Decision.Status.SIGNED).select_related(
            "case__patient", "meeting"
        )
    )
    follow = [_follow_up(decision, today) for decision in signed]
    bins: list[CalibrationBin] = []
    for low, high in CALIBRATION_BINS:
        members = [
            f
            for f in follow
            if f.predicted_1y is not None
            and low <= f.predicted_1y
            and (f.predicted_1y < high or (high == 1.0 and f.predicted_1y <= 1.0))
        ]
        pairs = [(f.days, f.died) for f in members]
        bins.append(
            CalibrationBin(
                low=low,
                high=high,
                cases=len(members),
                mean_predicted=(
                    sum(f.predicted_1y for f in members if f.predicted_1y is not None)
                    / len(members)
                    if members
                    else None
                ),
                observed=kaplan_meier_at(pairs, YEAR_DAYS),
                at_risk_1y=sum(1 for days, _ in pairs if days >= YEAR_DAYS),
            )
        )
    discordant = [f for f in follow if f.decision.is_discordant]
    return {
        "signed_count": len(signed),
        "concordant_count": len(signed) - len(discordant),
        "concordance_rate": (len(signed) - len(discordant)) / len(signed) if signed else None,
        "bins": bins,
        "discordant": discordant,
        "without_prediction": sum(1 for f in follow if f.predicted_1y is None),
    }
