"""First-stage trial retrieval: BM25 (bm25s) plus MiniLM embeddings, fused by reciprocal rank.

Embeddings of a corpus are computed once and stored as ``.npz`` (ids + float16 matrix); queries
are embedded at search time. Without the embedding package the index still answers with BM25.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from inference.trials.schema import TrialRecord

logger = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-/][a-z0-9]+)*")
_STOPWORD_TEXT = (
    "a about above after again against all am an and any are as at be because been before being "
    "below between both but by can could did do does doing down during each few for from further "
    "had has have having he her here hers him his how i if in into is it its itself just may me "
    "more most must my no nor not of off on once only or other our out over own same she should "
    "so some such than that the their them then there these they this those through to too under "
    "until up very was we were what when where which while who whom why will with would you your "
    "patient patients study subjects participants year years old"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split(" "))
RRF_K = 60


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stopwords; hyphenated forms also yield their parts."""
    tokens: list[str] = []
    for token in _TOKEN_RE.findall(text.lower()):
        if token in _STOPWORDS:
            continue
        tokens.append(token)
        if "-" in token or "/" in token:
            tokens.extend(p for p in re.split(r"[-/]", token) if p and p not in _STOPWORDS)
    return tokens


def trial_text(trial: TrialRecord, with_criteria: bool = True) -> str:
    """The text BM25 indexes for a trial: title, conditions, keywords, interventions, summary."""
    parts = [
        trial.title,
        " ".join(trial.conditions),
        " ".join(trial.keywords),
        " ".join(trial.interventions),
        trial.summary,
    ]
    if with_criteria:
        parts.append(trial.eligibility_text)
    return "\n".join(p for p in parts if p)


def embedding_text(trial: TrialRecord) -> str:
    """The shorter text embedded per trial (MiniLM reads at most 256 word pieces)."""
    if not (trial.title or trial.summary or trial.conditions):
        return trial.eligibility_text[:800]
    head = f"{trial.title}. {'; '.join(trial.conditions)}. {'; '.join(trial.keywords[:8])}."
    return f"{head} {trial.summary[:600]}"


@dataclass(frozen=True)
class StoredEmbeddings:
    """Embeddings of a corpus: one row per NCT id."""

    ids: tuple[str, ...]
    matrix: np.ndarray  # (N, 384) float32, unit rows


def save_embeddings(path: Path, embeddings: StoredEmbeddings) -> None:
    """Write embeddings as a compressed npz (float16 halves the size; cosine barely changes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, ids=np.array(embeddings.ids), matrix=embeddings.matrix.astype(np.float16)
    )


def load_embeddings(path: Path) -> StoredEmbeddings:
    """Read embeddings written by :func:`save_embeddings`."""
    with np.load(path, allow_pickle=False) as data:
        return StoredEmbeddings(
            tuple(str(i) for i in data["ids"]), data["matrix"].astype(np.float32)
        )


def compute_embeddings(
    trials: Sequence[TrialRecord], encode: Callable[[list[str]], np.ndarray]
) -> StoredEmbeddings:
    """Embed trials with ``encode`` (e.g. ``SentenceEmbedder().encode``)."""
    matrix = encode([embedding_text(t) for t in trials])
    return StoredEmbeddings(tuple(t.nct_id for t in trials), matrix.astype(np.float32))


@dataclass(frozen=True)
class SearchHit:
    """One retrieved trial with its fused score and the per-stage ranks (0-based, -1 = absent)."""

    nct_id: str
    score: float
    bm25_rank: int
    dense_rank: int


class TrialIndex:
    """BM25 + dense index over a fixed list of trials."""

    def __init__(
        self,
        trials: Sequence[TrialRecord],
        embeddings: StoredEmbeddings | None = None,
        encode: Callable[[list[str]], np.ndarray] | None = None,
        with_criteria: bool = True,
        allow_missing: bool = False,
    ) -> None:
        """Build the index.

        Args:
            trials: the corpus.
            embeddings: stored embeddings covering (a superset of) the trials, or None.
            encode: the query encoder; needed for dense and hybrid search.
            with_criteria: index eligibility text with BM25 as well.
            allow_missing: give trials without a stored vector a zero vector (they then take no
                part in the dense ranking) instead of refusing.
        """
        self.trials = tuple(trials)
        self.by_id = {t.nct_id: i for i, t in enumerate(self.trials)}
        self.bm25 = bm25s.BM25()
        self.bm25.index(
            [tokenize(trial_text(t, with_criteria)) or ["<empty>"] for t in self.trials],
            show_progress=False,
        )
        self.vocab = self.bm25.vocab_dict
        self.encode = encode
        self.matrix: np.ndarray | None = None
        self.missing_vectors = 0
        if embeddings is not None:
            rows = {nct: i for i, nct in enumerate(embeddings.ids)}
            missing = [t.nct_id for t in self.trials if t.nct_id not in rows]
            if missing and not allow_missing:
                raise ValueError(
                    f"{len(missing)} trials have no stored embedding, e.g. {missing[0]}"
                )
            self.missing_vectors = len(missing)
            matrix = np.zeros((len(self.trials), embeddings.matrix.shape[1]), dtype=np.float32)
            for i, trial in enumerate(self.trials):
                row = rows.get(trial.nct_id)
                if row is not None:
                    matrix[i] = embeddings.matrix[row]
            self.matrix = matrix

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every trial for ``query``."""
        tokens = [t for t in tokenize(query) if t in self.vocab]
        if not tokens:
            return np.zeros(len(self.trials), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def bm25_search(self, query: str, k: int = 100) -> list[tuple[str, float]]:
        """Top-k trials by BM25."""
        scores = self.bm25_scores(query)
        top = _top_k(scores, k)
        return [(self.trials[i].nct_id, float(scores[i])) for i in top if scores[i] > 0]

    def dense_scores(self, query: str) -> np.ndarray:
        """Cosine similarity of every trial to ``query``.

        Raises:
            RuntimeError: when the index has no embeddings or no encoder.
        """
        if self.matrix is None or self.encode is None:
            raise RuntimeError("this index has no embeddings; build it with embeddings and encode")
        vector = self.encode([query])[0]
        return self.matrix @ vector

    def search(
        self, query: str, k: int = 100, mode: str = "hybrid", depth: int = 200
    ) -> list[SearchHit]:
        """Retrieve trials for a query.

        Args:
            query: patient text or any query.
            k: number of hits.
            mode: ``bm25``, ``dense`` or ``hybrid`` (reciprocal rank fusion of both).
            depth: how many of each ranking enter the fusion.

        Returns:
            Hits, best first. Hybrid silently degrades to BM25 when there are no embeddings.
        """
        if mode == "hybrid" and (self.matrix is None or self.encode is None):
            mode = "bm25"
        if mode == "bm25":
            scores = self.bm25_scores(query)
            top = [i for i in _top_k(scores, k) if scores[i] > 0]
            return [
                SearchHit(self.trials[i].nct_id, float(scores[i]), r, -1) for r, i in enumerate(top)
            ]
        dense = self.dense_scores(query)
        if mode == "dense":
            top = _top_k(dense, k)
            return [
                SearchHit(self.trials[i].nct_id, float(dense[i]), -1, r) for r, i in enumerate(top)
            ]
        sparse = self.bm25_scores(query)
        sparse_top = [i for i in _top_k(sparse, depth) if sparse[i] > 0]
        dense_top = _top_k(dense, depth)
        fused: dict[int, list[float]] = {}
        for rank, i in enumerate(sparse_top):
            fused.setdefault(i, [0.0, -1, -1])
            fused[i][0] += 1.0 / (RRF_K + rank + 1)
            fused[i][1] = rank
        for rank, i in enumerate(dense_top):
            fused.setdefault(i, [0.0, -1, -1])
            fused[i][0] += 1.0 / (RRF_K + rank + 1)
            fused[i][2] = rank
        best = sorted(fused.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
        return [SearchHit(self.trials[i].nct_id, v[0], int(v[1]), int(v[2])) for i, v in best]


def _top_k(scores: np.ndarray, k: int) -> list[int]:
    if k >= len(scores):
        return [int(i) for i in np.argsort(-scores, kind="stable")]
    part = np.argpartition(-scores, k)[:k]
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]
