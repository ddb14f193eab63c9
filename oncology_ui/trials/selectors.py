"""Reads: filtered match lists, trial search, the work list and its CSV rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from inference.trials.criteria import with_record_criteria
from oncology_ui.patients.models import Case
from oncology_ui.patients.services import csv_safe
from oncology_ui.trials.index import trial_index
from oncology_ui.trials.models import ReverseMatchRun, Trial, TrialMatchResult, WorkListEntry
from oncology_ui.trials.serialize import (
    criterion_from_json,
    criterion_structure,
    criterion_to_json,
    row_to_record,
)
from oncology_ui.trials.status import OPEN_STATUSES, STATUS_LABELS, status_label

# Every status choice but the default; "" (the default) means recruiting or not yet recruiting.
CLOSED_STATUS_CHOICES = tuple(
    (value, label) for value, label in STATUS_LABELS.items() if value not in OPEN_STATUSES
)
MATCH_STATUS_CHOICES = (
    ("", "Recruiting or not yet recruiting"),
    ("recruiting", "Recruiting"),
    ("not_yet_recruiting", "Not yet recruiting"),
    *CLOSED_STATUS_CHOICES,
    ("any", "Any status (closed ones marked)"),
)
STATUS_CHOICES = (
    ("", "Any status"),
    ("open", "Recruiting or not yet recruiting"),
    ("recruiting", "Recruiting"),
    ("not_yet_recruiting", "Not yet recruiting"),
    *CLOSED_STATUS_CHOICES,
)
PHASE_CHOICES = (
    ("", "Any phase"),
    ("Phase 1", "Phase 1"),
    ("Phase 1/Phase 2", "Phase 1/2"),
    ("Phase 2", "Phase 2"),
    ("Phase 2/Phase 3", "Phase 2/3"),
    ("Phase 3", "Phase 3"),
    ("Phase 4", "Phase 4"),
)


@dataclass(frozen=True)
class MatchFilters:
    status: str = ""
    phase: str = ""
    intervention_type: str = ""
    biomarker_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.status or self.phase or self.intervention_type or self.biomarker_only)

    @property
    def closed_shown(self) -> bool:
        """Whether the list may show trials that do not take new patients."""
        return bool(self.status) and self.status not in {"open", *OPEN_STATUSES}


def _status_ok(status: str, wanted: str) -> bool:
    """The match list's status filter: blank is the default, open trials only."""
    if wanted == "any":
        return True
    if not wanted or wanted == "open":
        return status in OPEN_STATUSES
    return status == wanted


def filter_matches(matches: list[dict[str, Any]], filters: MatchFilters) -> list[dict[str, Any]]:
    """The stored ranking narrowed by the section's filters (rank numbers are kept)."""
    out = []
    for rank, match in enumerate(matches, start=1):
        if not _status_ok(match["status"], filters.status):
            continue
        if filters.phase and match["phase"] != filters.phase:
            continue
        if filters.intervention_type and filters.intervention_type not in match.get(
            "intervention_types", []
        ):
            continue
        if filters.biomarker_only and not match.get("biomarker_driven"):
            continue
        out.append({**match, "rank": rank})
    return out


def _decorate(match: dict[str, Any]) -> dict[str, Any]:
    """Split verdicts for the checklist: blockers first, then unknowns, then the rest."""
    verdicts = match["verdicts"]
    return {
        **match,
        "blockers": [v for v in verdicts if v["excludes"]],
        "unknowns": [v for v in verdicts if v["verdict"] == "unknown"],
        "resolvers": list(
            dict.fromkeys(
                v["resolver"]
                for v in verdicts
                if v["verdict"] == "unknown" and v["resolver"] and "manually" not in v["resolver"]
            )
        ),
    }


def match_view(result: TrialMatchResult | None, filters: MatchFilters) -> dict[str, Any]:
    """The section's list: the stored matches of ``result`` filtered and decorated.

    ``hidden_closed`` counts the ranked trials the default status filter leaves out;
    ``other_cancers`` the open trials that were checked and are for other cancers.
    """
    if result is None or result.matches is None:
        return {"matches": [], "total": 0, "hidden_closed": 0, "other_cancers": 0}
    shown = [_decorate(m) for m in filter_matches(result.matches, filters)]
    hidden = 0
    if not filters.status:
        hidden = sum(1 for m in result.matches if m["status"] not in OPEN_STATUSES)
    return {
        "matches": shown,
        "total": len(result.matches),
        "hidden_closed": hidden,
        "other_cancers": len(result.open_other_cancers or ()),
    }


@dataclass(frozen=True)
class TrialSearch:
    text: str = ""
    condition: str = ""
    phase: str = ""
    status: str = ""
    biomarker: str = ""

    @property
    def empty(self) -> bool:
        return not (self.text or self.condition or self.phase or self.status or self.biomarker)

    def params(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def trial_search(search: TrialSearch, *, limit: int = 50) -> tuple[list[Trial], str]:
    """Trials for the coordinator's search, best first, and how they were found.

    Text goes through the corpus index (BM25, or hybrid with stored vectors); condition, phase,
    status and biomarker filter the database rows.
    """
    rows: QuerySet[Trial] = Trial.objects.all()
    if search.condition:
        rows = rows.filter(
            Q(conditions__icontains=search.condition) | Q(title__icontains=search.condition)
        )
    if search.phase:
        rows = rows.filter(phase=search.phase)
    if search.status == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif search.status:
        rows = rows.filter(status=search.status)
    if search.biomarker:
        rows = rows.filter(biomarkers__icontains=search.biomarker.strip().upper())
    if not search.text:
        ordered = rows.order_by("nct_id")
        return list(ordered[:limit]), "filters only, by NCT id"
    loaded = trial_index()
    if loaded is None:
        return [], "no corpus loaded"
    hits = loaded.index.search(search.text, k=500, mode=loaded.mode)
    wanted = [h.nct_id for h in hits]
    found = rows.filter(nct_id__in=wanted).in_bulk(field_name="nct_id")
    ordered_rows = [found[n] for n in wanted if n in found][:limit]
    return ordered_rows, loaded.description


def trial_criteria_view(trial: Trial) -> dict[str, list[dict[str, Any]]]:
    # The record-level criteria (age, sex, setting, in situ) as the matcher derives them now.
    record = row_to_record(trial)
    stored = tuple(criterion_from_json(c) for c in trial.criteria)
    criteria = [criterion_to_json(c) for c in with_record_criteria(record, stored)]
    rows = [{**c, "structure": criterion_structure(c)} for c in criteria]
    return {
        "inclusion": [c for c in rows if c["inclusion"]],
        "exclusion": [c for c in rows if not c["inclusion"]],
    }


def record_completeness(verdicts: list[dict[str, Any]]) -> dict[str, int]:
    """How much of what the trial checks the record answers.

    Free-text criteria and those that do not apply are left out: only the criteria a record
    could settle count, so an empty record reads as 0 %, never as a good match.
    """
    checkable = [v for v in verdicts if v["kind"] != "text" and v["verdict"] != "not_applicable"]
    decided = sum(1 for v in checkable if v["verdict"] != "unknown")
    total = len(checkable)
    return {
        "decided": decided,
        "checkable": total,
        "percent": round(100 * decided / total) if total else 0,
    }


REVERSE_GROUPS = (
    (
        "eligible",
        "Likely eligible",
        "Nothing recorded rules the patient out and nothing the "
        "record could answer is missing; the free-text criteria still need a review.",
    ),
    (
        "needs_info",
        "Needs information",
        "Nothing recorded rules the patient out, but the "
        "record lacks facts the trial asks for; most complete records first.",
    ),
    ("excluded", "Excluded", "A recorded fact fails a criterion; the criterion is named."),
)


def _reverse_group(item: dict[str, Any]) -> str:
    if item["excluded"]:
        return "excluded"
    return "needs_info" if item["resolvers"] else "eligible"


def reverse_match_view(run: ReverseMatchRun | None, user: User) -> dict[str, Any]:
    """The run's patients as a coordinator works them, restricted to cases the viewer can see.

    ``groups`` holds likely eligible, needs information (with what is missing) and excluded
    (with the failing criterion), each with every case's record completeness; inside a group
    the more complete records come first, so a record with almost nothing in it sinks.
    """
    if run is None or run.matches is None:
        return {"ranked": [], "groups": [], "pending": run is not None}
    visible = Case.objects.visible_to(user).select_related("patient").in_bulk()
    ranked = []
    for match in run.matches:
        case_id = int(str(match["patient_id"]).removeprefix("case:"))
        case = visible.get(case_id)
        if case is not None:
            item = {**_decorate(match), "case": case}
            item["completeness"] = record_completeness(match["verdicts"])
            item["group"] = _reverse_group(item)
            ranked.append(item)
    groups = []
    for key, title, help_text in REVERSE_GROUPS:
        members = sorted(
            (i for i in ranked if i["group"] == key),
            key=lambda i: (-i["completeness"]["percent"], -i["score"]),
        )
        groups.append({"key": key, "title": title, "help": help_text, "items": members})
    return {"ranked": ranked, "groups": groups, "pending": False}


def worklist_for_user(user: User, *, status: str = "", nct_id: str = "") -> QuerySet[WorkListEntry]:
    entries = (
        WorkListEntry.objects.visible_to(user)
        .select_related("trial", "case__patient", "referral__from_user")
        .prefetch_related("history__by")
    )
    if status:
        entries = entries.filter(status=status)
    if nct_id:
        entries = entries.filter(trial__nct_id=nct_id.strip().upper())
    return entries


WORKLIST_CSV_HEADER = (
    "NCT id",
    "Trial",
    "MRN",
    "Patient",
    "Case",
    "Trial status",
    "Status",
    "Reason",
    "Referred by",
    "Referral note",
    "Updated (UTC)",
)


def worklist_csv_rows(entries: QuerySet[WorkListEntry]) -> Iterator[list[str]]:
    """CSV rows with every cell protected against spreadsheet formula injection."""
    yield list(WORKLIST_CSV_HEADER)
    for entry in entries:
        patient = entry.case.patient
        referrer = entry.referral.from_user if entry.referral else None
        yield [
            csv_safe(value)
            for value in (
                entry.trial.nct_id,
                entry.trial.title,
                patient.mrn,
                patient.display_name,
                entry.case.primary_diagnosis,
                status_label(entry.trial.status),
                entry.get_status_display(),
                entry.reason,
                referrer.get_username() if referrer else "",
                entry.referral.note if entry.referral else "",
                entry.updated_at.strftime("%Y-%m-%d %H:%M"),
            )
        ]
