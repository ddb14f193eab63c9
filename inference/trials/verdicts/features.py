"""Features of one (criterion, documents) pair for the note-reading verdict classifier.

Each criterion is compared with every sentence of the patient's documents by content-word overlap
and by all-MiniLM-L6-v2 cosine similarity; the best sentence is the cited evidence and its
ConText flags (negated, historical, family, hypothetical) become features alongside what the
criterion itself asks for (inclusion or exclusion, numbers, labs, a time window, consent, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from inference.trials.verdicts.sentences import Modifiers, Sentence, modifiers, stems

FEATURES: tuple[str, ...] = (
    "inclusion",
    "sim_max",
    "sim_max_x_inclusion",
    "sim_top3_mean",
    "lex_best",
    "lex_best_x_inclusion",
    "lex_all",
    "lex_hits_best",
    "evidence_negated",
    "evidence_negated_x_inclusion",
    "evidence_historical",
    "evidence_family",
    "evidence_hypothetical",
    "criterion_negative",
    "criterion_numeric",
    "criterion_lab",
    "criterion_time_window",
    "criterion_consent",
    "criterion_pregnancy",
    "criterion_free_text",
    "criterion_words_log",
    "documents_sentences_log",
)

# A criterion stated negatively ("no ...", "inability to consent", "unwilling to comply").
_CRIT_NEG_RE = re.compile(
    r"^\W*(?:no|not|without|absence of|never|free of|lack of)\b|"
    r"\b(?:unable|inability|missing|unwilling|refus\w*|incapable|fail\w* to|not willing)\b",
    re.I,
)
_NUMERIC_RE = re.compile(r"\d|[<>≤≥]|\b(?:greater|less|more|fewer|above|below|at least)\b", re.I)
_LAB_RE = re.compile(
    r"\b(?:count|level|serum|mg/dl|g/dl|mmol|umol|µmol|uln|upper limit|creatinine|bilirubin|"
    r"hemoglobin|haemoglobin|platelet|neutrophil|ast|alt|inr|glucose|hba1c|clearance|gfr|"
    r"albumin|potassium|sodium|troponin|ejection fraction|lvef)\b",
    re.I,
)
_TIME_RE = re.compile(
    r"\b(?:within|last|past|previous|prior)\b[^.]{0,30}\b(?:days?|weeks?|months?|years?|hours?)\b",
    re.I,
)
_CONSENT_RE = re.compile(r"\b(?:consent|willing|comply|compliance|sign|able to|agree)\w*", re.I)
_PREGNANCY_RE = re.compile(
    r"\b(?:pregnan|lactat|breast-?feed|nursing|childbearing|contracept)\w*", re.I
)

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class PairFeatures:
    """The feature vector and the sentence it was read from (None: nothing similar)."""

    vector: tuple[float, ...]
    evidence: Sentence | None
    similarity: float
    overlap: float
    flags: Modifiers


def criterion_flags(text: str) -> dict[str, float]:
    """Criterion-only features (what the criterion asks about)."""
    return {
        "criterion_negative": float(bool(_CRIT_NEG_RE.search(text))),
        "criterion_numeric": float(bool(_NUMERIC_RE.search(text))),
        "criterion_lab": float(bool(_LAB_RE.search(text))),
        "criterion_time_window": float(bool(_TIME_RE.search(text))),
        "criterion_consent": float(bool(_CONSENT_RE.search(text))),
        "criterion_pregnancy": float(bool(_PREGNANCY_RE.search(text))),
        "criterion_words_log": math.log1p(len(text.split())),
    }


def pair_features(
    criterion: str,
    inclusion: bool,
    free_text: bool,
    sentences: Sequence[Sentence],
    embed: Embed,
) -> PairFeatures:
    """Features of one criterion against the sentences of a patient's documents.

    Args:
        criterion: the criterion's text.
        inclusion: True for an inclusion criterion.
        free_text: True when the rule engine found no structure in it.
        sentences: the documents' sentences (see :func:`split_sentences`).
        embed: texts -> unit vectors (N, D); cached by the caller.

    Returns:
        The vector in :data:`FEATURES` order and the evidence sentence.
    """
    terms = stems(criterion)
    values = dict.fromkeys(FEATURES, 0.0)
    values.update(criterion_flags(criterion))
    values["inclusion"] = float(inclusion)
    values["criterion_free_text"] = float(free_text)
    values["documents_sentences_log"] = math.log1p(len(sentences))
    evidence: Sentence | None = None
    flags = Modifiers(False, False, False, False)
    best_sim = best_lex = 0.0
    if sentences and terms:
        vectors = embed([criterion, *(s.text for s in sentences)])
        sims = vectors[1:] @ vectors[0]
        sentence_stems = [set(stems(s.text)) for s in sentences]
        hits = np.array([sum(t in ss for t in terms) for ss in sentence_stems], dtype=float)
        lex = hits / len(terms)
        all_stems = set().union(*sentence_stems)
        # The cited sentence: similarity plus overlap; ties go to the earlier sentence.
        best = int(np.argmax(sims + 0.5 * lex))
        best_sim, best_lex = float(sims.max()), float(lex.max())
        values["sim_max"] = best_sim
        values["sim_top3_mean"] = float(np.sort(sims)[-3:].mean())
        values["lex_best"] = best_lex
        values["lex_all"] = sum(t in all_stems for t in terms) / len(terms)
        values["lex_hits_best"] = min(float(hits.max()), 5.0) / 5.0
        evidence = sentences[best]
        flags = modifiers(evidence.text, terms)
        values["evidence_negated"] = float(flags.negated)
        values["evidence_historical"] = float(flags.historical)
        values["evidence_family"] = float(flags.family)
        values["evidence_hypothetical"] = float(flags.hypothetical)
    values["sim_max_x_inclusion"] = values["sim_max"] * values["inclusion"]
    values["lex_best_x_inclusion"] = values["lex_best"] * values["inclusion"]
    values["evidence_negated_x_inclusion"] = values["evidence_negated"] * values["inclusion"]
    return PairFeatures(tuple(values[f] for f in FEATURES), evidence, best_sim, best_lex, flags)
