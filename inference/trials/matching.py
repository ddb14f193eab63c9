"""Patient -> trials and trial -> patients matching: retrieval, eligibility, ranking.

Patient -> trials: the first stage retrieves candidates, each is checked against its criteria,
and a learned re-ranker (:mod:`inference.trials.reranker`) scores retrieval, eligibility and
field-level matches together; recruitment status and phase add small tie-breaks that the
relevance judgements it was fitted on cannot teach. Pairs without a hard exclusion come first
(``demote_excluded``). ``MatchOptions(learned=False)`` gives the older linear mix of normalised
retrieval, share of satisfied criteria, status and phase, which reverse matching (trial ->
patients) still uses. Every match carries the reasons for its place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from inference.trials.criteria import criteria_for_trial
from inference.trials.eligibility import EligibilityOptions, evaluate_trial
from inference.trials.lexicon import tumour_sites
from inference.trials.reranker import (
    Reranker,
    RetrievalSignals,
    candidate_features,
    default_reranker,
    explain,
)
from inference.trials.retrieval import TrialIndex, embedding_text, tokenize, trial_text
from inference.trials.schema import (
    Criterion,
    CriterionVerdict,
    EligibilitySummary,
    PatientFacts,
    TrialMatch,
    TrialRecord,
    Verdict,
)

logger = logging.getLogger(__name__)

_STATUS_VALUE = {
    "recruiting": 1.0,
    "not_yet_recruiting": 0.8,
    "enrolling_by_invitation": 0.5,
    "active_not_recruiting": 0.2,
    "available": 0.5,
}
_CLOSED_STATUSES = {"completed", "terminated", "withdrawn", "suspended", "closed"}
_PHASE_VALUE = {
    "phase 3": 1.0,
    "phase 2/phase 3": 0.9,
    "phase 2": 0.8,
    "phase 1/phase 2": 0.65,
    "phase 1": 0.5,
    "early phase 1": 0.4,
    "phase 4": 0.6,
}


@dataclass(frozen=True)
class RankingWeights:
    """Weights of the linear ranking score (they need not sum to one).

    With the learned re-ranker only ``status`` and ``phase`` are used, added to its score as
    tie-breaks (the re-ranker's scores of neighbouring trials differ by about 0.1-1).
    """

    retrieval: float = 0.5
    eligibility: float = 0.3
    status: float = 0.1
    phase: float = 0.1
    unknown_credit: float = 0.25


@dataclass(frozen=True)
class MatchOptions:
    """Options of :func:`match_trials` and :func:`match_patients`.

    ``statuses`` restricts :func:`match_trials` to trials of those recruitment statuses (empty:
    any); retrieval then looks past ``candidates``, so an open trial further down is found.
    """

    eligibility: EligibilityOptions = field(default_factory=EligibilityOptions)
    weights: RankingWeights = field(default_factory=RankingWeights)
    candidates: int = 100
    mode: str = "hybrid"
    demote_excluded: bool = True
    statuses: frozenset[str] = frozenset()
    learned: bool = True
    reranker: Reranker | None = None  # None: the shipped one


@dataclass(frozen=True)
class Candidate:
    """One retrieved trial checked against its criteria, before the final score.

    ``position`` is its place in the first-stage list (0-based); ``features`` the re-ranker's
    feature vector for the pair.
    """

    trial: TrialRecord
    position: int
    signals: RetrievalSignals
    verdicts: tuple[CriterionVerdict, ...]
    summary: EligibilitySummary
    features: np.ndarray


@dataclass(frozen=True)
class MatchRun:
    """A ranking and the open trials that were checked and left out as being for other cancers.

    ``other_cancers`` lists, by NCT ID, the status-filtered trials whose conditions do not
    cover the patient's cancer (see :func:`condition_covers`); they are not matches.
    """

    matches: tuple[TrialMatch, ...]
    other_cancers: tuple[str, ...] = ()


# A condition that is cancer in general ("Advanced Solid Tumors", "Neoplasms", "Malignant Solid
# Neoplasm"): after the modifiers only generic nouns are left; "Skin Neoplasms" is not one.
_GENERIC_NOUN_TEXT = (
    "tumor tumors tumour tumours neoplasm neoplasms cancer cancers carcinoma carcinomas "
    "malignancy malignancies oncology neoplastic disease diseases"
)
_GENERIC_NOUNS = frozenset(_GENERIC_NOUN_TEXT.split(" "))
_MODIFIER_TEXT = (
    "advanced metastatic malignant solid adult adults pediatric paediatric childhood "
    "refractory recurrent relapsed unresectable locally any unspecified nos other and or of "
    "the primary late stage early iv iii ii i patients patient with in all various multiple "
    "types type"
)
_MODIFIERS = frozenset(_MODIFIER_TEXT.split(" "))


def _generic_condition(condition: str) -> bool:
    words = re.findall(r"[a-z]+", condition.lower())
    nouns = [w for w in words if w not in _MODIFIERS]
    return bool(nouns) and all(w in _GENERIC_NOUNS for w in nouns) and nouns != ["disease"]


def condition_covers(trial: TrialRecord, patient: PatientFacts) -> bool | None:
    """Whether the trial is for the patient's cancer, by tumour site.

    True: one of the trial's conditions is cancer in general, or a tumour site of its
    conditions, title or keywords is the patient's. False otherwise: the conditions name other
    cancers, or no cancer at all ("Familial Isolated Pituitary Adenoma"). None: the patient's
    tumour site is not recorded, so nothing is ruled out.
    """
    patient_sites = tumour_sites(
        " ".join(x for x in (patient.diagnosis_text, patient.oncotree_code) if x)
    )
    if not patient_sites:
        return None
    if any(_generic_condition(c) for c in trial.conditions):
        return True
    trial_sites = tumour_sites(" ".join((*trial.conditions, trial.title, *trial.keywords)))
    return bool(trial_sites & patient_sites)


def patient_query(patient: PatientFacts) -> str:
    """The retrieval query for a patient: diagnosis, stage, biomarkers, then the note text."""
    parts = [patient.diagnosis_text, patient.oncotree_code]
    if patient.stage is not None:
        parts.append(f"stage {patient.stage.value}")
    for marker in patient.biomarkers:
        parts.append(f"{marker.name} {marker.variant} {marker.status}".strip())
    parts.extend(t.name for t in patient.prior_therapies)
    parts.append(patient.note_text)
    return " ".join(p for p in parts if p)


def status_value(status: str) -> float:
    """How open a trial is to new patients, 0..1 (unknown status: 0.5)."""
    if status in _CLOSED_STATUSES:
        return 0.0
    return _STATUS_VALUE.get(status, 0.5 if not status or status == "unknown" else 0.3)


def phase_value(phase: str) -> float:
    """Preference for later phases, 0..1 (unknown or N/A: 0.3)."""
    return _PHASE_VALUE.get(phase.lower(), 0.3)


def _eligibility_value(summary: EligibilitySummary, weights: RankingWeights) -> float:
    judged = summary.n_satisfied + summary.n_failed + summary.n_unknown
    if judged == 0 or summary.excluded:
        return 0.0
    return (summary.n_satisfied + weights.unknown_credit * summary.n_unknown) / judged


def _reasons(
    trial: TrialRecord,
    verdicts: Sequence[CriterionVerdict],
    summary: EligibilitySummary,
    retrieval_rank: int,
    ranking: str = "",
) -> tuple[str, ...]:
    reasons: list[str] = []
    rescued = {
        v.criterion.group_id
        for v in verdicts
        if v.criterion.any_of_group
        and v.criterion.group_id
        and v.criterion.inclusion
        and not v.excludes_patient
    }
    # An alternative that fails inside a group with a passing or open member blocks nothing.
    blockers = [
        v
        for v in verdicts
        if v.excludes_patient and not (v.criterion.any_of_group and v.criterion.group_id in rescued)
    ]
    for v in blockers[:3]:
        which = "inclusion not met" if v.criterion.inclusion else "exclusion applies"
        reasons.append(f"{which} ({v.criterion.criterion_id}): {v.criterion.text[:120]}")
    reasons.append(
        f"{summary.n_satisfied} criteria satisfied, {summary.n_failed} failed, "
        f"{summary.n_unknown} unknown"
    )
    unknown = [v for v in verdicts if v.verdict is Verdict.UNKNOWN and v.resolver]
    resolvers = list(dict.fromkeys(v.resolver for v in unknown if "manually" not in v.resolver))
    if resolvers:
        reasons.append("to resolve: " + "; ".join(resolvers[:4]))
    reasons.append(f"status: {trial.status or 'unknown'}; phase: {trial.phase or 'unknown'}")
    if retrieval_rank >= 0:
        reasons.append(f"retrieval rank {retrieval_rank + 1}")
    if ranking:
        reasons.append(ranking)
    return tuple(reasons)


class CriteriaCache:
    """Parsed criteria per trial, computed on first use (parsing costs ~10 ms a trial)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Criterion, ...]] = {}

    def get(self, trial: TrialRecord) -> tuple[Criterion, ...]:
        """The criteria of ``trial``."""
        found = self._cache.get(trial.nct_id)
        if found is None:
            found = criteria_for_trial(trial)
            self._cache[trial.nct_id] = found
        return found


def _linear_score(
    trial: TrialRecord, retrieval: float, summary: EligibilitySummary, w: RankingWeights
) -> float:
    return (
        w.retrieval * retrieval
        + w.eligibility * _eligibility_value(summary, w)
        + w.status * status_value(trial.status)
        + w.phase * phase_value(trial.phase)
    )


def _build_match(
    trial: TrialRecord,
    patient: PatientFacts,
    retrieval: float,
    retrieval_rank: int,
    criteria: tuple[Criterion, ...],
    options: MatchOptions,
) -> TrialMatch:
    # Reverse matching and the linear ranking: no re-ranker features.
    verdicts, summary = evaluate_trial(criteria, patient, options.eligibility)
    return TrialMatch(
        nct_id=trial.nct_id,
        patient_id=patient.patient_id,
        score=round(_linear_score(trial, retrieval, summary, options.weights), 6),
        retrieval_score=round(float(retrieval), 6),
        summary=summary,
        verdicts=verdicts,
        rank_reasons=_reasons(trial, verdicts, summary, retrieval_rank),
    )


def _candidate_match(
    candidate: Candidate, patient: PatientFacts, options: MatchOptions
) -> TrialMatch:
    trial, summary, w = candidate.trial, candidate.summary, options.weights
    ranking = ""
    if options.learned:
        reranker = options.reranker or default_reranker()
        # Status and phase are tie-breaks only: the judgements ignore them (see RankingWeights).
        score = (
            float(reranker.score(candidate.features))
            + w.status * status_value(trial.status)
            + w.phase * phase_value(trial.phase)
        )
        ranking = explain(reranker, candidate.features)
    else:
        score = _linear_score(trial, candidate.signals.retrieval, summary, w)
    return TrialMatch(
        nct_id=trial.nct_id,
        patient_id=patient.patient_id,
        score=round(score, 6),
        retrieval_score=round(float(candidate.signals.retrieval), 6),
        summary=summary,
        verdicts=candidate.verdicts,
        rank_reasons=_reasons(trial, candidate.verdicts, summary, candidate.position, ranking),
    )


def _order(matches: list[TrialMatch], demote_excluded: bool) -> tuple[TrialMatch, ...]:
    return tuple(
        sorted(
            matches,
            key=lambda m: (
                demote_excluded and m.summary.excluded,
                -m.score,
                m.nct_id,
                m.patient_id,
            ),
        )
    )


def match_trials(
    patient: PatientFacts,
    index: TrialIndex,
    k: int = 20,
    options: MatchOptions | None = None,
    query: str | None = None,
    cache: CriteriaCache | None = None,
) -> tuple[TrialMatch, ...]:
    """Rank trials for one patient.

    Args:
        patient: the patient's facts.
        index: the trial index to search.
        k: how many matches to return.
        options: retrieval depth and mode, eligibility and ranking options.
        query: retrieval text; defaults to :func:`patient_query`.
        cache: parsed-criteria cache shared between calls.

    Returns:
        Up to ``k`` matches, best first, each with its verdicts and rank reasons.
    """
    return match_trials_run(patient, index, k, options, query, cache).matches


def match_trials_run(
    patient: PatientFacts,
    index: TrialIndex,
    k: int = 20,
    options: MatchOptions | None = None,
    query: str | None = None,
    cache: CriteriaCache | None = None,
) -> MatchRun:
    """:func:`match_trials`, also saying which open trials were left out as for other cancers.

    With ``options.statuses`` every trial of those statuses is a candidate however far down
    the retrieval it sits, so each must pass a relevance floor: its conditions cover the
    patient's cancer (:func:`condition_covers`). Those that do not are counted, not ranked.
    """
    options = options or MatchOptions()
    candidates, other_cancers = retrieve_candidates(patient, index, options, query, cache)
    matches = [_candidate_match(c, patient, options) for c in candidates]
    return MatchRun(_order(matches, options.demote_excluded)[:k], tuple(sorted(other_cancers)))


def retrieve_candidates(
    patient: PatientFacts,
    index: TrialIndex,
    options: MatchOptions,
    query: str | None = None,
    cache: CriteriaCache | None = None,
) -> tuple[list[Candidate], list[str]]:
    """First-stage candidates with their verdicts and re-ranker features, in retrieval order.

    Returns:
        The candidates and the NCT IDs left out as for other cancers (status filter only).
    """
    cache = cache or CriteriaCache()
    text = query or patient_query(patient)
    if options.statuses:
        # Every trial of those statuses that either ranking puts in its top 200 (the usual
        # fusion depth): far enough down to find the few open trials, near enough to be about
        # the patient's disease.
        hits = index.search(text, k=len(index.trials), mode=options.mode)
    else:
        hits = index.search(text, k=options.candidates, mode=options.mode)
    if not hits:
        return [], []
    # Normalised by the best hit of the whole corpus, so scores compare across status filters.
    top = max(h.score for h in hits) or 1.0
    bm25 = index.bm25_scores(text)
    bm25_top = float(bm25.max()) or 1.0
    other_cancers: list[str] = []
    covers: dict[str, bool | None] = {}
    if options.statuses:
        wanted = options.statuses
        kept = []
        for h in hits:
            trial = index.trials[index.by_id[h.nct_id]]
            if trial.status not in wanted:
                continue
            covers[h.nct_id] = condition_covers(trial, patient)
            if covers[h.nct_id] is False:
                other_cancers.append(h.nct_id)
                continue
            kept.append(h)
        hits = kept[: options.candidates]
    query_tokens = frozenset(tokenize(text))
    candidates = []
    for position, hit in enumerate(hits):
        row = index.by_id[hit.nct_id]
        trial = index.trials[row]
        criteria = cache.get(trial)
        verdicts, summary = evaluate_trial(criteria, patient, options.eligibility)
        signals = RetrievalSignals(
            retrieval=hit.score / top,
            bm25=float(bm25[row]) / bm25_top,
            # In BM25 mode the hit's own rank is its BM25 rank.
            bm25_rank=hit.bm25_rank,
            dense_rank=hit.dense_rank,
        )
        cover = covers[hit.nct_id] if hit.nct_id in covers else condition_covers(trial, patient)
        features = candidate_features(patient, trial, signals, summary, cover, query_tokens)
        candidates.append(Candidate(trial, position, signals, verdicts, summary, features))
    return candidates, other_cancers


def match_patients(
    trial: TrialRecord,
    patients: Sequence[PatientFacts],
    k: int | None = None,
    options: MatchOptions | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> tuple[TrialMatch, ...]:
    """Reverse matching: rank patients for one trial (e.g. a coordinator's screening list).

    Args:
        trial: the trial.
        patients: the candidate patients.
        k: how many to return (all when None).
        options: eligibility and ranking options.
        encode: optional sentence encoder; when given, similarity mixes embeddings with tokens.

    Returns:
        Matches, best first; eligible-looking patients before hard exclusions.
    """
    options = options or MatchOptions()
    if not patients:
        return ()
    criteria = criteria_for_trial(trial)
    trial_tokens = set(tokenize(trial_text(trial, with_criteria=False)))
    queries = [patient_query(p) for p in patients]
    lexical = np.array(
        [len(trial_tokens & set(tokenize(q))) / max(1, len(set(tokenize(q)))) for q in queries],
        dtype=np.float32,
    )
    similarity = lexical / (lexical.max() or 1.0)
    if encode is not None:
        vectors = encode([embedding_text(trial), *queries])
        dense = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
        similarity = 0.5 * similarity + 0.5 * dense / (dense.max() or 1.0)
    matches = [
        _build_match(trial, patient, float(similarity[i]), -1, criteria, options)
        for i, patient in enumerate(patients)
    ]
    ordered = _order(matches, options.demote_excluded)
    return ordered if k is None else ordered[:k]
