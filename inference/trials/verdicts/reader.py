"""Decide criteria the rule engine leaves unknown from the patient's documents, with a citation.

The rule engine judges typed criteria against reviewed, structured facts. Free-text criteria and
typed ones whose fact is missing stay ``UNKNOWN`` there; this step reads the documents for them:
it cites the most similar sentence (or says nothing similar was found), flags it with ConText
modifiers and a small trained classifier gives met / not met / unknown / not applicable with a
probability, abstaining (unknown) below a confidence threshold chosen by cross-validation.
A verdict from here is a suggestion read from a note, never a reviewed fact.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from inference.trials.schema import CriterionKind, CriterionVerdict, Evidence, Verdict
from inference.trials.verdicts.features import pair_features
from inference.trials.verdicts.model import VerdictModel, load
from inference.trials.verdicts.sentences import Sentence, split_sentences

logger = logging.getLogger(__name__)

WEIGHTS_PATH = (
    Path(__file__).resolve().parents[2] / "weights" / "trials" / "criterion_verdicts.json"
)
#: Pinned digest of the shipped weights (written by ``inference.training.criterion_verdicts``).
WEIGHTS_SHA256 = "c2dc8e3d7027949fe8be18f601944f2317c0a5b36b81128dad3f16f84ab32d20"
#: Below this cosine and overlap the cited sentence is not shown as evidence.
_EVIDENCE_SIM = 0.35
_EVIDENCE_LEX = 0.34
NOT_MENTIONED = "not mentioned in the documents"
#: Consent, capacity and willingness are about this trial, which no earlier note can speak of:
#: physicians presume them (as the annotators did), so no sentence is cited as their evidence.
#: Not the classifier's ``criterion_consent`` cue (features.py): that one also matches "sign"
#: ("significant") and is part of the trained weights, so it stays as it was trained.
_CONSENT_RE = re.compile(
    r"\b(?:(?:informed\s+)?consent\w*|(?:un)?willing\w*|comply|compliance|"
    r"(?:un)?able\s+to\s+(?:give|provide|sign|understand|read))\b",
    re.I,
)


@dataclass(frozen=True)
class NoteDocument:
    """One document of the patient as the engine sees it (the app maps its rows to this)."""

    ref: str
    title: str
    kind: str
    date: dt.date | None
    text: str


@dataclass(frozen=True)
class NoteReading:
    """What the step read for one criterion."""

    verdict: Verdict
    probability: float
    abstained: bool
    model_version: str
    document: NoteDocument | None
    sentence: str
    start: int
    end: int
    rule: str = ""

    @property
    def cited(self) -> bool:
        """True when a sentence is cited (otherwise: not mentioned in the documents)."""
        return self.document is not None


class _EmbedCache:
    """Sentence vectors by text, so a note's sentences are encoded once per process."""

    def __init__(self, limit: int = 20000) -> None:
        self.vectors: dict[str, np.ndarray] = {}
        self.limit = limit

    def __call__(self, texts: list[str]) -> np.ndarray:
        from inference.trials.embed import default_embedder

        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            if len(self.vectors) + len(missing) > self.limit:
                self.vectors.clear()
            for text, vector in zip(missing, default_embedder().encode(missing), strict=True):
                self.vectors[text] = vector
        return np.stack([self.vectors[t] for t in texts])


embed_cached = _EmbedCache()


def encode_ahead(texts: list[str]) -> None:
    """Encode texts into the cache in large batches (one call for a whole matching run)."""
    if texts:
        embed_cached(texts)


@lru_cache(maxsize=1)
def shipped_model() -> VerdictModel:
    """The shipped classifier, checked against :data:`WEIGHTS_SHA256`."""
    return load(WEIGHTS_PATH, WEIGHTS_SHA256)


def document_sentences(documents: tuple[NoteDocument, ...]) -> list[Sentence]:
    """All sentences of the documents, each tagged with its document's index."""
    return [s for i, d in enumerate(documents) for s in split_sentences(d.text, i)]


def read_criterion(
    text: str,
    inclusion: bool,
    free_text: bool,
    documents: tuple[NoteDocument, ...],
    model: VerdictModel | None = None,
    sentences: list[Sentence] | None = None,
) -> NoteReading:
    """Read one criterion against the documents.

    Args:
        text: the criterion's text.
        inclusion: True for an inclusion criterion.
        free_text: True when the rule engine found no structure in it.
        documents: the patient's documents.
        model: the classifier (the shipped one when None).
        sentences: the documents' sentences, when the caller already split them.

    Returns:
        The verdict, its probability and the cited sentence.
    """
    model = model or shipped_model()
    sentences = document_sentences(documents) if sentences is None else sentences
    pair = pair_features(text, inclusion, free_text, sentences, embed_cached)
    closest = pair.evidence.text if pair.evidence is not None else ""
    decision = model.decide(np.asarray(pair.vector), criteria=[text], evidence=[closest])[0]
    evidence = pair.evidence
    weak = pair.similarity < _EVIDENCE_SIM and pair.overlap < _EVIDENCE_LEX
    if evidence is not None and (weak or _CONSENT_RE.search(text)):
        evidence = None
    return NoteReading(
        verdict=Verdict(decision.label),
        probability=round(decision.probability, 3),
        abstained=decision.abstained,
        rule=decision.rule,
        model_version=model.version,
        document=documents[evidence.document] if evidence else None,
        sentence=evidence.text if evidence else "",
        start=evidence.start if evidence else 0,
        end=evidence.end if evidence else 0,
    )


def _explain(reading: NoteReading) -> str:
    where = (
        f"suggested from {reading.document.title} ({reading.document.kind}, "
        f"{reading.document.date or 'undated'}): '{reading.sentence}'"
        if reading.document
        else f"suggested: {NOT_MENTIONED}"
    )
    how = (
        f"ConText rule: {reading.rule} (classifier alone: {reading.probability:.2f})"
        if reading.rule
        else f"probability {reading.probability:.2f}"
    )
    return f"{where}; {how}; read from a note by {reading.model_version}, not a reviewed fact"


def read_unknown_verdicts(
    verdicts: tuple[CriterionVerdict, ...],
    documents: tuple[NoteDocument, ...],
    model: VerdictModel | None = None,
) -> tuple[tuple[CriterionVerdict, ...], dict[str, NoteReading]]:
    """Re-decide the engine's unknown verdicts from the documents.

    Args:
        verdicts: the rule engine's verdicts of one patient-trial pair.
        documents: the patient's documents; none leaves every verdict as it was.
        model: the classifier (the shipped one when None).

    Returns:
        The verdicts (decided ones replaced, with the cited sentence as evidence) and the
        readings by criterion id, including abstentions.
    """
    if not documents or not any(v.verdict is Verdict.UNKNOWN for v in verdicts):
        return verdicts, {}
    model = model or shipped_model()
    sentences = document_sentences(documents)
    out: list[CriterionVerdict] = []
    readings: dict[str, NoteReading] = {}
    for v in verdicts:
        if v.verdict is not Verdict.UNKNOWN:
            out.append(v)
            continue
        c = v.criterion
        reading = read_criterion(
            c.text, c.inclusion, c.kind is CriterionKind.TEXT, documents, model, sentences
        )
        readings[c.criterion_id] = reading
        if reading.verdict is Verdict.UNKNOWN:
            out.append(v)
            continue
        evidence = (
            Evidence(
                "note sentence", reading.sentence, reading.document.date, reading.document.title
            )
            if reading.document
            else Evidence("note sentence", NOT_MENTIONED, None, "documents")
        )
        out.append(
            replace(v, verdict=reading.verdict, evidence=(evidence,), explanation=_explain(reading))
        )
    return tuple(out), readings
