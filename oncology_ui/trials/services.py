"""Matching jobs, referrals, the work list and saved searches."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inference.trials import ENGINE_VERSION
from inference.trials.eligibility import EligibilityOptions
from inference.trials.matching import (
    MatchOptions,
    match_patients,
    match_trials,
    match_trials_run,
)
from inference.trials.schema import TrialMatch
from oncology_ui.core.jobs import JobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case
from oncology_ui.trials.criterion_tags import tag_match_verdicts
from oncology_ui.trials.facts import case_documents, case_facts
from oncology_ui.trials.index import trial_index
from oncology_ui.trials.models import (
    Referral,
    ReverseMatchRun,
    SavedSearch,
    Trial,
    TrialMatchResult,
    WorkListEntry,
    WorkListTransition,
)
from oncology_ui.trials.note_evidence import attach_readings, documents_used, note_readings
from oncology_ui.trials.serialize import match_to_json, row_to_record
from oncology_ui.trials.status import OPEN_STATUSES

logger = logging.getLogger(__name__)

MATCH_JOB = "trial_match"
REVERSE_MATCH_JOB = "trial_reverse_match"
MATCHES_KEPT = 30
REVERSE_CASES_MAX = 500


@transaction.atomic
def trial_match_request(*, case: Case, user: User) -> TrialMatchResult:
    """Queue matching of one case against the corpus; the job stores the ranking."""
    result = TrialMatchResult.objects.create(case=case, requested_by=user)
    result.job = job_enqueue(kind=MATCH_JOB, target=result, user=user, message="Matching queued")
    result.save(update_fields=["job"])
    return result


def trial_match_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Match the case's current facts against the corpus; a finished result is left alone."""
    result = TrialMatchResult.objects.select_related("case__patient").get(pk=job.target_id)
    if result.matches is not None:
        return {"result": result.pk}
    progress(10, "Loading the trial index")
    loaded = trial_index()
    if loaded is None:
        raise JobError(
            "No trial corpus is loaded. An administrator can import trials "
            "(Trials → Import, or `manage.py load_shipped_trials`)."
        )
    progress(40, "Reading the patient's facts")
    facts = case_facts(result.case)
    options = MatchOptions(
        eligibility=EligibilityOptions(therapy_history_complete=facts.therapy_history_complete),
        mode=loaded.mode,
    )
    progress(60, "Ranking trials and checking criteria")
    matches = match_trials(
        facts.facts, loaded.index, k=MATCHES_KEPT, options=options, cache=loaded.cache
    )
    # The list shows open trials by default; most of a registry is closed, so the open ones
    # are ranked on their own too and kept beside the overall ranking. Every open trial is
    # checked there, and those for other cancers are counted instead of listed.
    open_run = match_trials_run(
        facts.facts,
        loaded.index,
        k=MATCHES_KEPT,
        options=replace(options, statuses=frozenset(OPEN_STATUSES)),
        cache=loaded.cache,
    )
    other_cancers = set(open_run.other_cancers)
    matches = tuple(m for m in matches if m.nct_id not in other_cancers)
    kept = {m.nct_id for m in matches}
    matches = tuple(
        sorted(
            [*matches, *(m for m in open_run.matches if m.nct_id not in kept)],
            key=lambda m: (m.summary.excluded, -m.score, m.nct_id),
        )
    )
    progress(80, "Reading the case's documents for criteria the facts leave unknown")
    documents = case_documents(result.case, result.requested_by)
    readings = note_readings(matches, documents)
    trials = Trial.objects.in_bulk([m.nct_id for m in matches], field_name="nct_id")
    result.matches = [
        attach_readings(match_to_json(m, trials[m.nct_id]), readings)
        for m in matches
        if m.nct_id in trials
    ]
    progress(85, "Tagging the free-text criteria")
    tag_match_verdicts(result.matches, trials)
    result.open_other_cancers = sorted(other_cancers)
    result.engine_version = ENGINE_VERSION
    result.corpus_version = loaded.version
    result.corpus_size = loaded.size
    result.retrieval_mode = loaded.mode
    result.facts_as_of = facts.facts.as_of
    result.facts_used = [*facts.used, *(documents_used(documents) if readings else [])]
    result.facts_missing = list(facts.missing)
    result.finished_at = timezone.now()
    result.save()
    return {"result": result.pk, "matches": len(result.matches)}


def trial_match_latest(case: Case) -> TrialMatchResult | None:
    return TrialMatchResult.objects.filter(case=case).select_related("job").first()


@transaction.atomic
def trial_reverse_match_request(*, trial: Trial, user: User) -> ReverseMatchRun:
    """Queue ranking of every case the user can see for one trial."""
    run = ReverseMatchRun.objects.create(trial=trial, requested_by=user)
    run.job = job_enqueue(
        kind=REVERSE_MATCH_JOB, target=run, user=user, message="Ranking patients queued"
    )
    run.save(update_fields=["job"])
    return run


def trial_reverse_match_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Rank the requesting user's visible cases for the trial (open cases first)."""
    run = ReverseMatchRun.objects.select_related("trial", "requested_by").get(pk=job.target_id)
    if run.matches is not None:
        return {"run": run.pk}
    cases = list(
        Case.objects.visible_to(run.requested_by)
        .exclude(status=Case.Status.CLOSED)
        .select_related("patient")
        .order_by("-diagnosis_date", "-id")[:REVERSE_CASES_MAX]
    )
    progress(10, f"Reading the facts of {len(cases)} cases")
    all_facts = [case_facts(case) for case in cases]
    progress(60, "Checking the trial's criteria for each case")
    # Therapy history completeness differs per case; match each case with its own option.
    matches: list[TrialMatch] = []
    readings: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    record = row_to_record(run.trial)
    for case, facts in zip(cases, all_facts, strict=True):
        options = MatchOptions(
            eligibility=EligibilityOptions(therapy_history_complete=facts.therapy_history_complete)
        )
        found = match_patients(record, [facts.facts], options=options)
        matches.extend(found)
        # As on the case page: the case's documents suggest what its facts leave unknown.
        readings[facts.facts.patient_id] = note_readings(
            found, case_documents(case, run.requested_by)
        )
    # Patient similarity needs all patients at once; order by eligibility first, as the engine.
    matches.sort(key=lambda m: (m.summary.excluded, -m.score, m.patient_id))
    run.matches = [
        attach_readings(match_to_json(m, run.trial), readings.get(m.patient_id, {}))
        for m in matches
    ]
    run.cases_considered = len(cases)
    run.engine_version = ENGINE_VERSION
    run.save(update_fields=["matches", "cases_considered", "engine_version"])
    return {"run": run.pk, "cases": len(cases)}


def referral_create(*, case: Case, trial: Trial, note: str, user: User) -> Referral:
    """Refer a case to the trial coordinator: the referral and a flagged work-list entry."""
    with transaction.atomic():
        referral = Referral(case=case, trial=trial, note=note.strip(), from_user=user)
        referral.full_clean()
        referral.save()
        entry, created = WorkListEntry.objects.get_or_create(
            trial=trial,
            case=case,
            defaults={"referral": referral, "created_by": user},
        )
        if created:
            WorkListTransition.objects.create(
                entry=entry, to_status=entry.status, reason="referred by oncologist", by=user
            )
        elif entry.referral_id is None:
            entry.referral = referral
            entry.save(update_fields=["referral"])
    return referral


def worklist_add(*, case: Case, trial: Trial, user: User) -> tuple[WorkListEntry, bool]:
    """Flag a case for a trial; an existing entry is returned unchanged."""
    with transaction.atomic():
        entry, created = WorkListEntry.objects.get_or_create(
            trial=trial, case=case, defaults={"created_by": user}
        )
        if created:
            WorkListTransition.objects.create(entry=entry, to_status=entry.status, by=user)
    return entry, created


def worklist_move(*, entry: WorkListEntry, status: str, reason: str, user: User) -> WorkListEntry:
    """Move an entry to ``status``.

    Raises:
        ValidationError: the move is not allowed from the current status, or a "not eligible"
            move has no reason.
    """
    if status not in WorkListEntry.Status.values:
        raise ValidationError(f"“{status}” is not a work-list status.")
    if not entry.can_move_to(status):
        current = WorkListEntry.Status(entry.status).label
        target = WorkListEntry.Status(status).label
        allowed = ", ".join(WorkListEntry.Status(s).label for s in entry.TRANSITIONS[entry.status])
        raise ValidationError(
            f"An entry that is {current.lower()} cannot move to {target.lower()}; "
            f"allowed: {allowed.lower()}."
        )
    with transaction.atomic():
        entry = WorkListEntry.objects.select_for_update().get(pk=entry.pk)
        if not entry.can_move_to(status):
            raise ValidationError("The entry was changed by someone else; reload and try again.")
        previous = entry.status
        entry.status = status
        entry.reason = reason.strip() if status == WorkListEntry.Status.NOT_ELIGIBLE else ""
        entry.full_clean()
        entry.updated_at = timezone.now()
        entry.save(update_fields=["status", "reason", "updated_at"])
        WorkListTransition.objects.create(
            entry=entry, from_status=previous, to_status=status, reason=reason.strip(), by=user
        )
    return entry


def saved_search_create(*, user: User, name: str, params: dict[str, Any]) -> SavedSearch:
    """Save (or overwrite, by name) a search of the user's."""
    search, _ = SavedSearch.objects.update_or_create(
        owner=user, name=name.strip()[:100], defaults={"params": params}
    )
    return search


def saved_search_delete(*, owner: User, search_id: int) -> bool:
    """Delete one of the owner's saved searches; False when they have none with that id."""
    saved = SavedSearch.objects.filter(pk=search_id, owner=owner).first()
    if saved is None:
        return False
    saved.delete()
    return True
