"""Typed facets of criterion text from the criteria tagger, stored on the trial once computed.

The tagger (``inference.trials.tagging``) marks conditions, drugs, labs, thresholds, negations...
in each criterion line. It is for reading only: the rule engine's verdicts never use it. Tagging
every shipped trial at import would cost minutes of CPU, so a trial is tagged the first time a
page needs it and the result is kept in ``Trial.criteria_tags``, keyed by a digest of each
criterion's text, so an edited or re-parsed criterion is simply tagged again and a new tagger
version re-tags everything.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from inference.runtime import CheckpointError
from inference.trials.tagging import CriteriaTagger, TaggedEntity, default_tagger
from oncology_ui.trials.models import Trial
from oncology_ui.trials.status import status_is_open

logger = logging.getLogger(__name__)

#: What a clinician reads for each LCT type.
LABELS = {
    "Condition": "condition",
    "Drug": "drug",
    "Procedure": "procedure",
    "Observation": "lab / measurement",
    "Eq-Comparison": "threshold",
    "Eq-Operator": "operator",
    "Eq-Value": "value",
    "Eq-Unit": "unit",
    "Eq-Temporal-Unit": "time unit",
    "Eq-Temporal-Period": "time frame",
    "Age": "age",
    "Negation": "negation",
    "Life-Stage-And-Gender": "sex / age group",
    "Polarity": "polarity",
}
#: Matches whose free-text criteria the match job tags (the top of the default list).
TAGGED_MATCHES = 10
#: Parts of a threshold: shown inside their threshold's chip, not highlighted on their own.
PARTS = frozenset({"Eq-Operator", "Eq-Value", "Eq-Unit", "Eq-Temporal-Unit"})


@dataclass(frozen=True)
class Facet:
    """One highlighted span with the threshold parts inside it."""

    type: str
    label: str
    text: str
    score: float
    parts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TaggedCriterion:
    """A criterion's facets in text order (threshold parts folded into their threshold)."""

    facets: tuple[Facet, ...]


@dataclass(frozen=True)
class TaggerInfo:
    """What a page says about the model (version, validation), or why it is missing."""

    available: bool
    version: str = ""
    sha256: str = ""
    test_macro_f1: float | None = None
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "test_macro_f1": self.test_macro_f1,
        }


def text_key(text: str) -> str:
    """Storage key of a criterion text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _tagger_id(tagger: CriteriaTagger) -> str:
    return f"{tagger.metadata.get('version', '?')}:{tagger.sha256[:12]}"


def tagged_criterion(entities: Iterable[TaggedEntity]) -> TaggedCriterion:
    """Fold threshold parts into the span holding them; other spans become facets."""
    entities = sorted(entities, key=lambda e: (e.start, -e.end, e.type))
    facets = []
    for e in entities:
        if e.type in PARTS:
            continue
        parts = tuple(
            (LABELS[p.type], p.text)
            for p in entities
            if p.type in PARTS and e.start <= p.start and p.end <= e.end
        )
        facets.append(Facet(e.type, LABELS.get(e.type, e.type), e.text, e.score, parts))
    return TaggedCriterion(tuple(facets))


def tagged_from_rows(text: str, rows: list[list[Any]] | None) -> TaggedCriterion | None:
    """Stored rows ``[type, start, end, score]`` of ``text`` as a TaggedCriterion."""
    if rows is None:
        return None
    entities = []
    for kind, start, end, score in rows:
        if 0 <= start < end <= len(text):  # rows of another text version are dropped, not shown
            entities.append(TaggedEntity(kind, start, end, text[start:end], float(score)))
    return tagged_criterion(entities)


def _load() -> tuple[CriteriaTagger | None, TaggerInfo]:
    try:
        tagger = default_tagger()
    except (CheckpointError, RuntimeError, OSError) as error:
        logger.warning("criteria tagger unavailable: %s", error)
        return None, TaggerInfo(available=False, message=f"criteria tagger unavailable: {error}")
    return tagger, TaggerInfo(
        available=True,
        version=str(tagger.metadata.get("version", "")),
        sha256=tagger.sha256,
        test_macro_f1=tagger.metadata.get("test_macro_f1"),
    )


def tag_trials(
    wanted: dict[str, tuple[Trial, list[str]]],
) -> tuple[dict[str, dict[str, list[list[Any]]]], TaggerInfo]:
    """Tag the wanted criterion texts of several trials in one batch and store them.

    Args:
        wanted: NCT id -> (trial, criterion texts wanted).

    Returns:
        NCT id -> {text key: rows} for the wanted texts, and the tagger info (rows are empty
        when the tagger is unavailable).
    """
    tagger, info = _load()
    if tagger is None:
        return {}, info
    tagger_id = f"{info.version}:{info.sha256[:12]}"
    stored: dict[str, dict[str, list[list[Any]]]] = {}
    todo: list[tuple[str, str]] = []
    for nct_id, (trial, texts) in wanted.items():
        tags = trial.criteria_tags if isinstance(trial.criteria_tags, dict) else {}
        rows = dict(tags.get("criteria", {})) if tags.get("tagger") == tagger_id else {}
        stored[nct_id] = rows
        todo.extend((nct_id, t) for t in dict.fromkeys(texts) if text_key(t) not in rows)
    if todo:
        try:
            found = tagger.tag([t for _, t in todo])
        except (RuntimeError, ValueError) as error:  # display only: never fail the page or job
            logger.exception("criteria tagging failed")
            return {}, TaggerInfo(available=False, message=f"criteria tagging failed: {error}")
        for (nct_id, text), entities in zip(todo, found, strict=True):
            stored[nct_id][text_key(text)] = [[e.type, e.start, e.end, e.score] for e in entities]
        for nct_id in dict.fromkeys(n for n, _ in todo):
            trial = wanted[nct_id][0]
            # Keep only the trial's current criteria, so re-parsed trials do not grow the field.
            current = {text_key(c["text"]) for c in trial.criteria} | {
                text_key(t) for t in wanted[nct_id][1]
            }
            rows = {k: v for k, v in stored[nct_id].items() if k in current}
            trial.criteria_tags = {"tagger": tagger_id, "criteria": rows}
            # Only this field: a page view must not overwrite a concurrent import of the trial.
            Trial.objects.filter(pk=trial.pk).update(criteria_tags=trial.criteria_tags)
    result = {
        nct_id: {text_key(t): stored[nct_id][text_key(t)] for t in texts}
        for nct_id, (_, texts) in wanted.items()
    }
    return result, info


def attach_trial_tags(trial: Trial, rows: Iterable[dict[str, Any]]) -> TaggerInfo:
    """Tag a trial's criteria (stored after the first time) and set ``row["tags"]`` on each.

    Rows are criterion dicts with a ``text``; ``tags`` is None when the tagger is unavailable.
    """
    rows = list(rows)
    tagged, info = tag_trials({trial.nct_id: (trial, [r["text"] for r in rows])})
    by_key = tagged.get(trial.nct_id, {})
    for row in rows:
        row["tags"] = by_key.get(text_key(row["text"]))
    return info


def tag_match_verdicts(
    matches: list[dict[str, Any]], trials: dict[str, Trial], *, limit: int = TAGGED_MATCHES
) -> TaggerInfo:
    """Tag the free-text criteria of the first matches into their verdict dicts (``v["tags"]``).

    Structured criteria already show what the rule parser read; free text is where the typed
    spans help a reader. Each tagged match also records ``criteria_tagger`` (version, sha256,
    test F1). Only the first ``limit`` matches the list shows by default (open trials first) are
    tagged, because a trial's first tagging costs about 20-40 ms per line on this CPU.
    """
    shown = sorted(
        (m for m in matches if m["nct_id"] in trials),
        key=lambda m: not status_is_open(str(m.get("status") or "")),
    )[:limit]
    wanted = {
        m["nct_id"]: (
            trials[m["nct_id"]],
            [v["text"] for v in m["verdicts"] if v["kind"] == "text"],
        )
        for m in shown
    }
    tagged, info = tag_trials(wanted)
    for m in shown:
        by_key = tagged.get(m["nct_id"])
        if by_key is None:
            continue
        m["criteria_tagger"] = info.as_json()
        for v in m["verdicts"]:
            if v["kind"] == "text":
                v["tags"] = by_key.get(text_key(v["text"]))
    return info
