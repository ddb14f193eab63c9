"""Learned re-ranking of retrieved trials: features per (patient, trial) and a linear scorer.

The scorer is a pairwise (RankNet) logistic model over standardised features, fitted on the
public relevance judgements of SIGIR 2016, TREC 2021 and TREC PM 2017
(``python -m inference.training.trial_reranker``; see ``inference/weights/trials/reranker.md``).
Being linear, every score splits into per-feature contributions, which the rank reasons name.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from inference.trials.retrieval import tokenize
from inference.trials.schema import EligibilitySummary, PatientFacts, TrialRecord

WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "weights" / "trials" / "reranker.json"
# Pinned so a changed or damaged weights file is refused instead of silently ranking differently.
# The training command prints the new value; update it together with the JSON.
WEIGHTS_SHA256 = "b943cf038d5f15d77668a7d0b9040142e4a01c3d0d7e9a1280aa2419aeca95e0"

# Feature name -> (words when it is above an average candidate's, words when below), for the
# rank reasons. The order is the order of the vector.
FEATURES: dict[str, tuple[str, str]] = {
    "retrieval": ("a high retrieval score", "a low retrieval score"),
    "bm25": ("a high keyword (BM25) score", "a low keyword (BM25) score"),
    "bm25_rank": ("a high keyword (BM25) rank", "a low keyword (BM25) rank"),
    "dense_rank": ("a high semantic similarity rank", "a low semantic similarity rank"),
    "dense_missing": ("no semantic similarity rank", "a semantic similarity rank"),
    "eligibility_satisfied": ("many criteria satisfied", "few criteria satisfied"),
    "eligibility_not_failed": ("few criteria failed", "criteria failed"),
    "hard_exclusion": ("a hard exclusion", "no hard exclusion"),
    "no_criteria": ("no criterion judged", "criteria judged"),
    "condition_match": ("conditions cover the patient's cancer", "conditions not the patient's"),
    "condition_other": ("conditions name other cancers", "conditions not for other cancers"),
    "age_outside": ("age outside the trial's range", "age within the trial's range"),
    "sex_mismatch": ("sex not accepted", "sex accepted"),
    "gene_match": ("the patient's genes named", "the patient's genes not named"),
    "gene_in_title": ("a patient's gene in title or conditions", "no patient gene in the title"),
    "variant_match": ("the patient's variant named", "the patient's variant not named"),
    "diagnosis_title": ("diagnosis words in the title", "few diagnosis words in the title"),
    "diagnosis_conditions": (
        "diagnosis words in the conditions",
        "few diagnosis words in the conditions",
    ),
    "title_in_note": ("title words in the patient's record", "few title words in the record"),
    "conditions_in_note": (
        "condition words in the patient's record",
        "few condition words in the record",
    ),
}
FEATURE_NAMES = tuple(FEATURES)
# No feature counts a trial's criteria: the judgements favour short lists (fewer criteria, fewer
# chances to be judged excluded), which ranked a trial with 13 unknown criteria above one with 8
# met for a demo case. trial-reranker-2 has none: Q3 1.76x and Q4 1.60x bm25s under topic CV.
# Sign constraints of the fit, so that eligibility can only help an eligible trial: a satisfied
# criterion counts at least as much as an unknown one, which counts at least as much as a failed
# one (both shares weigh >= 0), and a hard exclusion or an age, sex or cancer mismatch never
# raises a trial.
NON_NEGATIVE = frozenset({"eligibility_satisfied", "eligibility_not_failed"})
NON_POSITIVE = frozenset({"hard_exclusion", "age_outside", "sex_mismatch", "condition_other"})


@dataclass(frozen=True)
class RetrievalSignals:
    """What the first stage knows about one candidate.

    ``retrieval`` is the fused (or BM25) score over the best hit of the corpus; ``bm25`` the
    BM25 score over the corpus maximum; ranks are 0-based in the whole corpus, -1 = not in
    that ranking's top (or no dense ranking at all).
    """

    retrieval: float
    bm25: float
    bm25_rank: int
    dense_rank: int


def _rank_value(rank: int) -> float:
    # The NDCG discount: rank 0 -> 1.0, rank 9 -> 0.29, absent -> 0.
    return 0.0 if rank < 0 else 1.0 / math.log2(rank + 2)


def _share(words: set[str], within: set[str]) -> float:
    return len(words & within) / len(words) if words else 0.0


def _variants(patient: PatientFacts) -> set[str]:
    found: set[str] = set()
    for marker in patient.biomarkers:
        for token in re.findall(r"[A-Za-z0-9]+", marker.variant):
            # Protein changes (V600E, G12C, T790M) carry letters and digits; a bare word
            # ("mutation") or number would match anything.
            if re.search(r"[A-Za-z]", token) and re.search(r"\d", token) and len(token) >= 3:
                found.add(token.lower())
    return found


def candidate_features(
    patient: PatientFacts,
    trial: TrialRecord,
    signals: RetrievalSignals,
    summary: EligibilitySummary,
    covers: bool | None,
    query_tokens: frozenset[str],
) -> np.ndarray:
    """The feature vector of one (patient, trial) candidate, in :data:`FEATURE_NAMES` order.

    Args:
        patient: the patient's facts.
        trial: the candidate trial.
        signals: its first-stage scores and ranks.
        summary: its eligibility summary for the patient.
        covers: :func:`inference.trials.matching.condition_covers` for the pair.
        query_tokens: tokens of the retrieval query (the patient's record).

    Returns:
        A float64 vector of ``len(FEATURE_NAMES)``.
    """
    judged = summary.n_satisfied + summary.n_failed + summary.n_unknown
    per = max(1, judged)
    head = " ".join((trial.title, *trial.conditions, *trial.keywords)).lower()
    body = " ".join((head, trial.summary, trial.eligibility_text)).lower()
    genes = {m.name.lower() for m in patient.biomarkers if m.name}
    head_words = set(re.findall(r"[a-z0-9]+", head))
    body_words = set(re.findall(r"[a-z0-9]+", body))
    variants = _variants(patient)
    diagnosis = set(tokenize(patient.diagnosis_text))
    title_tokens = set(tokenize(trial.title))
    condition_tokens = set(tokenize(" ".join((*trial.conditions, *trial.keywords))))
    age = patient.age_years
    age_outside = age is not None and (
        (trial.min_age_years is not None and age < trial.min_age_years)
        or (trial.max_age_years is not None and age > trial.max_age_years)
    )
    sex = (patient.sex or "").lower()
    sex_mismatch = bool(sex) and trial.sex in ("male", "female") and trial.sex != sex
    values = {
        "retrieval": signals.retrieval,
        "bm25": signals.bm25,
        "bm25_rank": _rank_value(signals.bm25_rank),
        "dense_rank": _rank_value(signals.dense_rank),
        "dense_missing": float(signals.dense_rank < 0),
        "eligibility_satisfied": summary.n_satisfied / per,
        "eligibility_not_failed": (summary.n_satisfied + summary.n_unknown) / per,
        "hard_exclusion": float(summary.excluded),
        "no_criteria": float(judged == 0),
        "condition_match": float(covers is True),
        "condition_other": float(covers is False),
        "age_outside": float(age_outside),
        "sex_mismatch": float(sex_mismatch),
        "gene_match": _share(genes, body_words),
        "gene_in_title": float(bool(genes & head_words)),
        "variant_match": float(bool(variants & body_words)),
        "diagnosis_title": _share(diagnosis, title_tokens),
        "diagnosis_conditions": _share(diagnosis, condition_tokens),
        "title_in_note": _share(title_tokens, set(query_tokens)),
        "conditions_in_note": _share(condition_tokens, set(query_tokens)),
    }
    return np.array([values[name] for name in FEATURE_NAMES], dtype=np.float64)


@dataclass(frozen=True)
class Reranker:
    """A linear scorer over standardised features: ``score = sum(w * (x - mean) / scale)``."""

    version: str
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per-feature contributions to the score; ``x`` is (F,) or (N, F)."""
        return self.weights * (x - self.mean) / self.scale

    def score(self, x: np.ndarray) -> np.ndarray | float:
        """The score of one vector (float) or of each row of a matrix."""
        total = self.contributions(x).sum(axis=-1)
        return float(total) if np.ndim(total) == 0 else np.asarray(total)

    def to_json(self, **extra: object) -> dict[str, object]:
        """A JSON-ready dict (``extra`` keys, e.g. the CV figures, are stored beside)."""
        return {
            "version": self.version,
            "features": list(self.features),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "weights": [round(float(v), 8) for v in self.weights],
            **extra,
        }

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> Reranker:
        """Read :meth:`to_json` output; refuses a feature list other than this code's."""
        features = tuple(str(f) for f in obj["features"])  # type: ignore[attr-defined]
        if features != FEATURE_NAMES:
            raise ValueError("the re-ranker's features differ from this code's feature list")
        arrays = [np.asarray(obj[key], dtype=np.float64) for key in ("mean", "scale", "weights")]
        if any(a.shape != (len(features),) for a in arrays):
            raise ValueError("the re-ranker's mean, scale and weights need one value a feature")
        return cls(str(obj["version"]), features, *arrays)


def explain(reranker: Reranker, x: np.ndarray, top: int = 3) -> str:
    """The features that moved this trial most, in words, with the model's version.

    e.g. "ranking (trial-reranker-2): raised by the patient's genes named; lowered by a hard
    exclusion". Contributions are relative to an average training candidate.
    """
    parts = reranker.contributions(x)
    order = np.argsort(-np.abs(parts), kind="stable")[:top]

    def phrase(i: int) -> str:
        high, low = FEATURES[reranker.features[i]]
        return high if x[i] > reranker.mean[i] else low

    up = [phrase(i) for i in order if parts[i] > 0.05]
    down = [phrase(i) for i in order if parts[i] < -0.05]
    clauses = []
    if up:
        clauses.append("raised by " + ", ".join(up))
    if down:
        clauses.append("lowered by " + ", ".join(down))
    said = "; ".join(clauses) if clauses else "no feature stands out"
    return f"ranking ({reranker.version}): {said}"


def load_reranker(path: Path = WEIGHTS_PATH, sha256: str | None = WEIGHTS_SHA256) -> Reranker:
    """Load the re-ranker from JSON, checking its sha256 (``sha256=None`` skips the check).

    Raises:
        ValueError: the file's hash is not the pinned one, or its content is malformed.
    """
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if sha256 is not None and digest != sha256:
        raise ValueError(f"{path.name} has sha256 {digest}, expected {sha256}")
    return Reranker.from_json(json.loads(raw))


@lru_cache(maxsize=1)
def default_reranker() -> Reranker:
    """The shipped re-ranker, loaded once per process."""
    return load_reranker()
