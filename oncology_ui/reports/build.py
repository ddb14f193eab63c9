"""Report data from stored rows: the stored prediction and decisions, never a new model call."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone

from oncology_ui.analysis.models import Prediction
from oncology_ui.analysis.readable import (
    feature_label,
    inputs_not_used,
    percentage_points,
    validation_text,
)
from oncology_ui.analysis.sections import MODALITY_LABELS, portrait_inputs_view
from oncology_ui.analysis.selectors import prediction_stale_parts, prognosis_from_today
from oncology_ui.boards.models import Decision, Meeting
from oncology_ui.patients.models import Case
from oncology_ui.reports.data import (
    AgendaRow,
    Bar,
    BoardPacketData,
    CaseReportData,
    DecisionData,
    Identifiers,
    Landmark,
    ModelInfo,
    Prognosis,
    Signature,
    TimelineRow,
)
from oncology_ui.reports.hallmarks import hallmark_report
from oncology_ui.reports.sources import knowledge_base_version, optional_sections

FREE_TEXT_OMITTED = "Free text omitted in the de-identified report."


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class _Dates:
    """Dates as printed: calendar dates, or days from diagnosis in de-identified mode."""

    def __init__(self, anchor: date, deidentified: bool) -> None:
        self.anchor, self.deidentified = anchor, deidentified

    def __call__(self, day: date | None) -> str:
        if day is None:
            return "—"
        if self.deidentified:
            return f"day {(day - self.anchor).days:+d}"
        return day.isoformat()


def _points_bars(items: list[tuple[str, float]]) -> tuple[Bar, ...]:
    """Bars in percentage points as printed, largest first; those printing as 0.0 left out."""
    shown = [(label, percentage_points(value)) for label, value in items]
    return tuple(
        Bar(label, points)
        for label, points in sorted(shown, key=lambda item: -abs(item[1]))
        if points != 0.0
    )


def _stale_text(prediction: Prediction, case: Case) -> str:
    parts = prediction_stale_parts(prediction, case=case)
    if not parts:
        return ""
    return (
        f"STALE: this prediction was made {_utc(prediction.created_at)}, before newer "
        f"{', '.join(parts)} were recorded, and does not reflect them. Re-run the analysis on "
        "the case page before relying on it."
    )


def _prognosis(prediction: Prediction, case: Case, *, today: date, deidentified: bool) -> Prognosis:
    explanation = prediction.explanation or {}
    from_today = prognosis_from_today(
        prediction, case=case, today=today, dates_as_days=deidentified
    )
    curve = from_today.curve or {}
    return Prognosis(
        status=prediction.status,
        abstention_reasons=tuple(str(reason) for reason in prediction.abstention_reasons or ()),
        times_months=tuple(float(t) for t in curve.get("times_months", ())),
        survival=tuple(float(s) for s in curve.get("survival", ())),
        lower=tuple(float(s) for s in curve.get("lower", ())),
        upper=tuple(float(s) for s in curve.get("upper", ())),
        median_months=from_today.median_months,
        landmarks=tuple(
            Landmark(
                years=int(row["years"]),
                survival=row.get("survival"),
                lower=row.get("lower"),
                upper=row.get("upper"),
            )
            for row in from_today.landmarks
        ),
        contributions=_points_bars(
            [
                (MODALITY_LABELS.get(item["modality"], item["modality"]), float(item["shapley"]))
                for item in explanation.get("modality_shapley") or ()
            ]
        ),
        computed_at=_utc(prediction.created_at),
        basis=from_today.basis,
        axis_label=from_today.axis_label,
        conditioned=from_today.conditioned,
        no_curve_reason=from_today.abstained,
        stale=_stale_text(prediction, case),
        reference_years=explanation.get("reference_years"),
        factors=_points_bars(
            [
                (
                    feature_label(item["modality"], item["feature"], item.get("value")),
                    float(item["attribution"]),
                )
                for item in explanation.get("feature_attributions") or ()
                if item.get("attribution") is not None
            ]
        )[:10],
        factors_method="the change when that fact is treated as unknown"
        if prediction.covariates_used
        else "integrated gradients",
        validation=validation_text(prediction.validation),
        routing=str((prediction.validation or {}).get("portrait_not_used", "")),
    )


def _model_prognosis_text(snapshot: dict[str, Any]) -> str:
    if not snapshot:
        return "No model prognosis was available when the decision was recorded."
    parts = [snapshot.get("model", "")]
    for row in snapshot.get("survival_at") or ():
        if row.get("survival") is not None:
            parts.append(f"{row['years']}-year survival {row['survival']:.0%}")
    if snapshot.get("median_months") is not None:
        parts.append(f"median {snapshot['median_months']:.0f} months")
    return "; ".join(part for part in parts if part)


def _decision(decision: Decision, dates: _Dates) -> DecisionData:
    signature = None
    if decision.signed_at is not None:
        signature = Signature(
            name=decision.signed_name,
            at_utc=_utc(decision.signed_at),
            meaning=decision.signature_meaning,
            content_hash=decision.content_hash,
        )
    meeting = decision.meeting
    return DecisionData(
        version=decision.version,
        status=decision.get_status_display(),
        meeting=(f"{meeting.board.name}, {dates(meeting.date)}" if meeting else "—"),
        therapy=decision.therapy,
        trial_referral=decision.trial_referral,
        further_tests=decision.further_tests,
        follow_up=decision.follow_up,
        notes=(
            FREE_TEXT_OMITTED
            if dates.deidentified and decision.discussion_notes
            else decision.discussion_notes
        ),
        agreeing=tuple(
            person.get_full_name() or person.get_username() for person in decision.agreeing.all()
        ),
        model_top_option=decision.model_top_option,
        model_prognosis=_model_prognosis_text(decision.model_prognosis),
        is_discordant=decision.is_discordant,
        discordance_reason=decision.discordance_reason,
        signature=signature,
        superseded=decision.status == Decision.Status.SUPERSEDED,
    )


def case_report_data(
    case: Case, *, deidentified: bool = False, now: datetime | None = None
) -> CaseReportData:
    """Everything the case report prints, from the stored rows of ``case``."""
    now = now or timezone.now()
    patient = case.patient
    dates = _Dates(case.diagnosis_date, deidentified)
    prediction = Prediction.objects.filter(case=case).select_related("run").first()
    identifiers = None
    if not deidentified:
        identifiers = Identifiers(
            name=patient.display_name,
            mrn=patient.mrn,
            site=patient.site,
            birth_date=patient.birth_date.isoformat(),
            sex=patient.get_sex_display(),
        )
    summary: list[tuple[str, str]] = [
        ("Diagnosis", case.primary_diagnosis),
        ("OncoTree", f"{case.oncotree_code} {case.oncotree_name}".strip()),
        ("ICD-10-CM", case.icd10_code),
        ("Histology", case.histology or "—"),
        ("Diagnosed", dates(case.diagnosis_date)),
        ("Age at diagnosis", str(case.age_at_diagnosis)),
        ("TNM", case.tnm or "not staged"),
        ("Stage group", case.stage_group or "—"),
        ("ECOG", case.get_ecog_display() if case.ecog is not None else "not recorded"),
        ("Progression", dates(case.progression_date) if case.progression_date else "none recorded"),
        ("Status", case.get_status_display()),
    ]
    timeline = tuple(
        TimelineRow(
            when=dates(event.date) + (f" to {dates(event.end_date)}" if event.end_date else ""),
            kind=event.get_kind_display(),
            # Titles are free text (they may name people or places); regimens are not.
            label=event.label
            if not deidentified or event.kind == "systemic_therapy"
            else event.get_kind_display(),
            detail=(FREE_TEXT_OMITTED if deidentified and event.detail else event.detail)
            + (f" Response: {event.get_response_display()}." if event.response else ""),
        )
        for event in case.events.all()
    )
    decisions = tuple(
        _decision(decision, dates)
        for decision in Decision.objects.filter(case=case)
        .select_related("meeting__board")
        .prefetch_related("agreeing")
        .order_by("-version")
    )
    used_labels, missing_labels, not_used = _data_used(prediction)
    return CaseReportData(
        case_ref=f"Case {case.pk}",
        generated_at_utc=_utc(now),
        deidentified=deidentified,
        identifiers=identifiers,
        summary=tuple(summary),
        timeline=timeline,
        data_used=used_labels,
        data_missing=missing_labels,
        prognosis=_prognosis(
            prediction, case, today=timezone.localdate(now), deidentified=deidentified
        )
        if prediction is not None
        else None,
        prognosis_unavailable="Not available: no model analysis has been run for this case.",
        optional_sections=optional_sections(case, deidentified=deidentified),
        decisions=decisions,
        model=ModelInfo(prediction.model_name, prediction.model_version, prediction.weights_sha256)
        if prediction is not None
        else None,
        knowledge_base_version=knowledge_base_version(),
        image_derived=bool(prediction and prediction.image_derived),
        data_not_used=not_used,
        hallmarks=hallmark_report(case, deidentified=deidentified),
    )


def _data_used(
    prediction: Prediction | None,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """What the model used, what it lacked and what it could not use, as printed.

    A portrait prediction names each clinical fact with its source; other models name modalities.
    """
    if prediction is None:
        return (), (), ()
    snapshot = prediction.run.inputs_snapshot or {}
    not_used = inputs_not_used(
        prediction.inputs_ignored or [], snapshot, used=prediction.inputs_used or []
    )
    if prediction.covariates_used:
        view = portrait_inputs_view(prediction, snapshot)
        return (
            tuple(
                f"{item['label']} ({item['source']}{', stale' if item['stale'] else ''})"
                for item in view["used"]
            ),
            tuple(view["missing"]),
            tuple(view["record_only"] + not_used),
        )
    return (
        tuple(MODALITY_LABELS.get(m, m) for m in prediction.inputs_used),
        tuple(MODALITY_LABELS.get(m, m) for m in prediction.inputs_missing),
        tuple(not_used),
    )


def board_packet_data(
    meeting: Meeting,
    cases: tuple[CaseReportData, ...],
    *,
    deidentified: bool = False,
    now: datetime | None = None,
) -> BoardPacketData:
    now = now or timezone.now()
    items = list(meeting.items.select_related("case__patient", "presenter"))
    return BoardPacketData(
        board=meeting.board.name,
        site=meeting.board.site,
        specialty=meeting.board.specialty,
        meeting_date=meeting.date.isoformat(),
        title=meeting.title,
        attendees=tuple(
            person.get_full_name() or person.get_username() for person in meeting.attendees.all()
        ),
        generated_at_utc=_utc(now),
        deidentified=deidentified,
        agenda=tuple(
            AgendaRow(
                order=item.order,
                case_ref=(
                    f"Case {item.case_id}"
                    if deidentified
                    else f"{item.case.patient.display_name} — {item.case.primary_diagnosis}"
                ),
                presenter=(
                    (item.presenter.get_full_name() or item.presenter.get_username())
                    if item.presenter
                    else "—"
                ),
                prepared="complete" if item.prepared else "open",
            )
            for item in items
        ),
        cases=cases,
    )
