"""Reads for boards: the case-page section, the outcomes review and the discordance register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.boards.models import AgendaItem, Board, Decision, Meeting, OutcomeRecord
from oncology_ui.boards.options import therapy_options
from oncology_ui.boards.preparation import agenda_preparation
from oncology_ui.clinical.sections import labs_section
from oncology_ui.core import roles
from oncology_ui.patients.models import Case, Patient
from oncology_ui.patients.sections import SectionLoader
from oncology_ui.therapies.selectors import therapies_section
from oncology_ui.trials.sections import trials_section

if TYPE_CHECKING:
    from oncology_ui.clinical.models import LabResult

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
    agenda_preparation(items)
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
        # Marked ready for a date whose meeting exists: say where to add it.
        "board_ready_meetings": (
            list(
                meetings.filter(date=case.board_date, board__team__patients=case.patient_id)
                .exclude(items__case=case)
                .select_related("board")
            )
            if case.board_date and case.status == Case.Status.READY
            else []
        ),
    }


def meeting_ready_cases(meeting: Meeting, user: User) -> QuerySet[Case]:
    """Cases marked "ready for board" on this meeting's date and not yet on its agenda.

    Only the board team's patients the user may see: those are the ones the agenda accepts.
    """
    return (
        Case.objects.visible_to(user)
        .filter(
            status=Case.Status.READY,
            board_date=meeting.date,
            patient__teams=meeting.board.team_id,
        )
        .exclude(agenda_items__meeting=meeting)
        .select_related("patient")
        .distinct()
        .order_by("patient__family_name", "pk")
    )


def board_administrators() -> list[User]:
    """Whom to ask for a new board: the active accounts of the administrator role."""
    return list(
        User.objects.filter(groups__name=roles.ADMINISTRATOR, is_active=True)
        .order_by("last_name", "username")
        .distinct()
    )


# Analytes a tumor board reads first: blood counts and organ function decide whether a therapy
# can be given, tumour markers follow the disease.
KEY_ANALYTES: tuple[str, ...] = (
    "hemoglobin",
    "neutrophils",
    "wbc",
    "platelets",
    "creatinine",
    "egfr_ckdepi2021",
    "crcl_cg",
    "bilirubin",
    "alt",
    "ast",
    "alp",
    "albumin",
    "ldh",
    "calcium",
    "cea",
    "ca15_3",
    "ca125",
    "ca19_9",
    "psa",
    "afp",
)
STALE_LAB_DAYS = 90


@dataclass(frozen=True)
class KeyLab:
    result: LabResult
    stale: bool
    abnormal: bool


def key_labs(latest: list[LabResult], *, on: date, limit: int = 12) -> list[KeyLab]:
    """The board's lab panel from the latest value of each analyte.

    Key analytes in a fixed clinical order, then any other value flagged out of range; a value
    older than ``STALE_LAB_DAYS`` before ``on`` (the meeting) is marked stale.
    """
    by_key = {result.analyte_key: result for result in latest if result.analyte_key}
    chosen = [by_key[key] for key in KEY_ANALYTES if key in by_key]
    chosen += [r for r in latest if r.flag and r not in chosen]
    oldest = on - timedelta(days=STALE_LAB_DAYS)
    return [
        KeyLab(result=r, stale=r.collected_at.date() < oldest, abnormal=bool(r.flag))
        for r in chosen[:limit]
    ]


# What board mode reads of the other apps, each behind the permission its own page asks for.
_BOARD_PANELS: tuple[tuple[str, str, SectionLoader], ...] = (
    ("therapies", "therapies.view_therapyranking", therapies_section),
    ("trials", "trials.view_trialmatchresult", trials_section),
    ("labs", "clinical.view_labresult", labs_section),
)
BOARD_TOP = 5


def board_mode_panels(request: HttpRequest, item: AgendaItem) -> dict[str, Any]:
    """Therapy options, trial matches and key labs of an agenda item's case, read-only.

    Read through the case page's section loaders (the therapies, trials and clinical apps' own
    selectors), so board mode shows exactly what the case page shows, stored and not recomputed.
    """
    wanted = [name for name, perm, _ in _BOARD_PANELS if request.user.has_perm(perm)]
    loaded: dict[str, Any] = {}
    for name, _, load in _BOARD_PANELS:
        if name in wanted:
            loaded.update(load(request, item.case))
    therapy_view = loaded.get("therapy_view")
    trial_view = loaded.get("trial_view") or {"matches": [], "total": 0}
    labs_view = loaded.get("labs_view")
    return {
        "board_panels": wanted,
        "board_therapy_ranking": loaded.get("therapy_ranking"),
        "board_therapy_options": (therapy_view or {}).get("options", [])[:BOARD_TOP],
        "board_therapy_count": len((therapy_view or {}).get("options", [])),
        "board_trial_result": loaded.get("trial_result"),
        "board_trial_job": loaded.get("trial_job"),
        "board_trials": trial_view["matches"][:BOARD_TOP],
        "board_trial_count": trial_view["total"],
        # Stale as of the meeting, or as of today when a past meeting is reopened.
        "board_labs": (
            key_labs(labs_view["latest"], on=max(item.meeting.date, timezone.localdate()))
            if labs_view
            else []
        ),
        "board_stale_days": STALE_LAB_DAYS,
    }


def board_decision_panel(request: HttpRequest, item: AgendaItem) -> dict[str, Any]:
    """The decision of an agenda item's case as board mode records it: draft, sign, amend."""
    from oncology_ui.boards.forms import DecisionForm, SignForm

    case = item.case
    decisions = list(Decision.objects.filter(case=case).order_by("-version")[:5])
    draft = next((d for d in decisions if d.status == Decision.Status.DRAFT), None)
    signed = next((d for d in decisions if d.status == Decision.Status.SIGNED), None)
    user = request.user
    return {
        "item": item,
        "case": case,
        "decision_draft": draft,
        "decision_signed": signed,
        "can_decide": user.has_perm("boards.add_decision"),
        "can_sign": user.has_perm("boards.sign_decision"),
        "decision_form": DecisionForm(case=case, meeting=item.meeting, instance=draft),
        "sign_form": SignForm(),
        "therapy_choices": therapy_options(case),
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


def observed_follow_up(patient: Patient, start: date) -> tuple[float, bool]:
    """Days followed from ``start`` and whether death ended them: the one derivation of observed
    survival (the outcomes page, the site training table, cohort analytics and model monitoring).

    The end is the date of death, else the last contact (else ``start``: no follow-up yet).
    """
    if patient.date_of_death:
        end, died = patient.date_of_death, True
    else:
        end, died = (patient.last_contact_date or start), False
    return max(0.0, float((end - start).days)), died


def _follow_up(decision: Decision, today: date) -> FollowUp:
    start = decision.meeting.date if decision.meeting else decision.signed_at.date()  # type: ignore[union-attr]
    days, died = observed_follow_up(decision.case.patient, start)
    return FollowUp(decision, _predicted_1y(decision), days, died)


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
