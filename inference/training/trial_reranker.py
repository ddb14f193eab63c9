"""Fit and cross-validate the trial re-ranker on public relevance judgements.

Usage: ``python -m inference.training.trial_reranker --data ../shared/data [--quick]``

1. Load SIGIR 2016, TREC 2021 and TREC PM 2017 (patients, graded judgements, judged trials).
2. For every topic retrieve the top candidates (hybrid when the corpus vectors are cached,
   BM25 otherwise), check each against its criteria and compute the re-ranker features.
3. Topic-level cross-validation: the pooled topics are dealt into 5 folds (per collection,
   shuffled with a fixed seed); every figure reported for a topic comes from a model fitted on
   the other folds only.
4. Fit on all topics and write ``inference/weights/trials/reranker.json``; print its sha256,
   which :data:`inference.trials.reranker.WEIGHTS_SHA256` pins.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
from scipy.optimize import minimize

from inference.training.trial_reranker_data import Collection, load_collections
from inference.trials.evaluation import ndcg_at_k, precision_at_k
from inference.trials.matching import (
    Candidate,
    CriteriaCache,
    MatchOptions,
    RankingWeights,
    retrieve_candidates,
)
from inference.trials.reranker import (
    FEATURE_NAMES,
    NON_NEGATIVE,
    NON_POSITIVE,
    WEIGHTS_PATH,
    Reranker,
)
from inference.trials.retrieval import TrialIndex, load_embeddings, trial_text
from inference.trials.schema import TrialRecord

logger = logging.getLogger(__name__)

VERSION = "trial-reranker-2"
# Corpus vectors (32 word pieces: title and conditions), computed once outside the benchmarks.
DENSE_CACHE = Path.home() / ".cache" / "oncoboard" / "trials" / "ctgov_minilm32.npz"
FOLDS = 5
SEED = 20261207
# Fixed before any run (not tuned): a mild ridge on standardised features.
L2 = 1e-3
CANDIDATES = 100
# The older linear ranking the re-ranker replaces (status and phase off: see README).
LINEAR = RankingWeights(0.7, 0.3, 0.0, 0.0)
# The verdict-based features (ablation "learned_no_eligibility").
ELIGIBILITY_FEATURES = (
    "eligibility_satisfied",
    "eligibility_not_failed",
    "hard_exclusion",
    "no_criteria",
    "age_outside",
    "sex_mismatch",
)


@dataclass(frozen=True)
class TopicRows:
    """One topic's candidates: features, grades and the scores of the simpler rankings."""

    collection: str
    topic_id: str
    oncology: bool
    nct_ids: tuple[str, ...]
    features: np.ndarray  # (N, F)
    grades: np.ndarray  # (N,) judged grade, unjudged 0
    retrieval: np.ndarray  # (N,) first-stage score over the corpus best
    linear: np.ndarray  # (N,) older linear score: 0.7 retrieval + 0.3 eligibility
    excluded: np.ndarray  # (N,) bool, a hard exclusion
    qrels: dict[str, int]
    baseline: tuple[str, ...]  # bm25s on the raw text, top 10
    dense: bool  # the first stage was hybrid (BM25 + MiniLM)

    @property
    def key(self) -> str:
        return f"{self.collection}/{self.topic_id}"


def _bm25s_baseline(trials: Sequence[TrialRecord]) -> Callable[[str, int], list[str]]:
    """Plain bm25s (its own tokenizer, English stopwords) over the same trial text."""
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([trial_text(t) for t in trials], stopwords="en", show_progress=False),
        show_progress=False,
    )
    ids = [t.nct_id for t in trials]

    def search(query: str, k: int) -> list[str]:
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        docs, _ = retriever.retrieve(tokens, k=min(k, len(ids)), show_progress=False)
        return [ids[i] for i in docs[0]]

    return search


def _dense_index(collection: Collection, quick: bool, dense: bool) -> TrialIndex:
    """A hybrid index when the cached vectors cover >= 95% of the corpus, else BM25 only."""
    trials = collection.trials
    if dense and DENSE_CACHE.exists():
        from inference.trials.embed import SentenceEmbedder

        embeddings = load_embeddings(DENSE_CACHE)
        have = set(embeddings.ids)
        covered = sum(1 for t in trials if t.nct_id in have)
        if covered >= 0.95 * len(trials):
            embedder = SentenceEmbedder(max_tokens=128 if quick else 256)
            return TrialIndex(
                trials, embeddings=embeddings, encode=embedder.encode, allow_missing=True
            )
        # A partly covered dense ranking favours the covered trials: use BM25 alone.
        logger.warning(
            "%s: %d of %d trials have vectors; dense off", collection.name, covered, len(trials)
        )
    return TrialIndex(trials)


def _cache_key(quick: bool, dense: bool) -> str:
    """Hash of what the rows depend on: the engine's code, the vectors, the options."""
    digest = hashlib.sha256(f"{quick} {dense} {CANDIDATES} {FEATURE_NAMES}".encode())
    for path in sorted((Path(__file__).resolve().parent.parent / "trials").rglob("*.py")):
        digest.update(path.read_bytes())
    if dense and DENSE_CACHE.exists():
        digest.update(str(DENSE_CACHE.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:16]


def collect_cached(data: Path, quick: bool = False, dense: bool = True) -> list[TopicRows]:
    """:func:`collect`, stored under ``~/.cache/oncoboard/trials`` per engine version.

    The rows are a pure function of the engine's code, the data and the vectors; the key
    hashes the code (``inference/trials``) and the vectors, so a change recomputes them.
    """
    path = DENSE_CACHE.parent / f"reranker_rows_{_cache_key(quick, dense)}.pkl"
    if path.exists():
        with path.open("rb") as fh:
            # Plain dicts: a class pickled from ``python -m`` would be ``__main__.TopicRows``.
            rows = [TopicRows(**fields) for fields in pickle.load(fh)]  # noqa: S301 - our own file
        logger.info("read %d topics' candidates from %s", len(rows), path)
        return rows
    rows = collect(load_collections(data), quick=quick, dense=dense)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump([dict(vars(r)) for r in rows], fh)
    return rows


def collect(
    collections: Sequence[Collection], quick: bool = False, dense: bool = True
) -> list[TopicRows]:
    """Candidates and features of every topic (the slow part: criteria for ~100 trials each)."""
    rows: list[TopicRows] = []
    options = MatchOptions(candidates=30 if quick else CANDIDATES, demote_excluded=False)
    for collection in collections:
        started = time.perf_counter()
        index = _dense_index(collection, quick, dense)
        baseline = _bm25s_baseline(collection.trials)
        cache = CriteriaCache()
        topics = collection.topics[:8] if quick else collection.topics
        for topic in topics:
            candidates, _ = retrieve_candidates(topic.facts, index, options, cache=cache)
            qrels = collection.qrels[topic.topic_id]
            linear = [
                LINEAR.retrieval * c.signals.retrieval + LINEAR.eligibility * _eligibility_value(c)
                for c in candidates
            ]
            nct = tuple(c.trial.nct_id for c in candidates)
            rows.append(
                TopicRows(
                    collection=collection.name,
                    topic_id=topic.topic_id,
                    oncology=topic.oncology,
                    nct_ids=nct,
                    features=np.array([c.features for c in candidates]).reshape(
                        len(candidates), len(FEATURE_NAMES)
                    ),
                    grades=np.array([qrels.get(n, 0) for n in nct], dtype=np.float64),
                    retrieval=np.array([c.signals.retrieval for c in candidates]),
                    linear=np.array(linear),
                    excluded=np.array([c.summary.excluded for c in candidates], dtype=bool),
                    qrels=qrels,
                    baseline=tuple(baseline(topic.text, 10)),
                    dense=index.matrix is not None,
                )
            )
        logger.info(
            "%s: %d topics, dense %s, %.0f s",
            collection.name,
            len(topics),
            index.matrix is not None,
            time.perf_counter() - started,
        )
    return rows


def _eligibility_value(candidate: Candidate) -> float:
    summary = candidate.summary
    judged = summary.n_satisfied + summary.n_failed + summary.n_unknown
    if judged == 0 or summary.excluded:
        return 0.0
    return float((summary.n_satisfied + LINEAR.unknown_credit * summary.n_unknown) / judged)


def fit(rows: Sequence[TopicRows], keep: Sequence[str] = FEATURE_NAMES, l2: float = L2) -> Reranker:
    """Pairwise logistic (RankNet) fit: each topic weighs the same, pairs by grade difference.

    Weights keep the signs of :data:`NON_NEGATIVE` and :data:`NON_POSITIVE` (the scales are
    positive, so a sign on a standardised weight is the sign on the raw feature). Features
    outside ``keep`` get weight 0 (for ablations).
    """
    x_all = np.concatenate([r.features for r in rows if len(r.nct_ids)])
    mean = x_all.mean(axis=0)
    scale = x_all.std(axis=0)
    scale[scale < 1e-9] = 1.0
    mask = np.array([name in keep for name in FEATURE_NAMES], dtype=np.float64)
    diffs, weights = [], []
    for r in rows:
        z = (r.features - mean) / scale * mask
        better, worse = np.nonzero(r.grades[:, None] > r.grades[None, :])
        if len(better) == 0:
            continue
        gap = r.grades[better] - r.grades[worse]
        diffs.append(z[better] - z[worse])
        weights.append(gap / gap.sum())
    d = np.concatenate(diffs)  # (P, F) pairwise differences, better minus worse
    w_pair = np.concatenate(weights) / len(diffs)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = d @ w
        value = float(w_pair @ np.logaddexp(0.0, -margin) + 0.5 * l2 * w @ w)
        grad = -(d.T @ (w_pair / (1.0 + np.exp(margin)))) + l2 * w
        return value, grad

    bounds = [
        (0.0, 0.0)
        if name not in keep
        else (0.0, None)
        if name in NON_NEGATIVE
        else (None, 0.0)
        if name in NON_POSITIVE
        else (None, None)
        for name in FEATURE_NAMES
    ]
    start = np.zeros(len(FEATURE_NAMES))
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return Reranker(VERSION, FEATURE_NAMES, mean, scale, result.x * mask)


def assign_folds(rows: Sequence[TopicRows], folds: int = FOLDS) -> dict[str, int]:
    """Topic key -> fold, dealt per collection after a seeded shuffle (GroupKFold by topic)."""
    rng = np.random.default_rng(SEED)
    assignment: dict[str, int] = {}
    for collection in dict.fromkeys(r.collection for r in rows):
        keys = sorted(r.key for r in rows if r.collection == collection)
        for i, j in enumerate(rng.permutation(len(keys))):
            assignment[keys[j]] = i % folds
    return assignment


def cross_validated_scores(
    rows: Sequence[TopicRows], keep: Sequence[str] = FEATURE_NAMES, folds: int = FOLDS
) -> dict[str, np.ndarray]:
    """Topic key -> re-ranker scores from the model fitted without that topic's fold."""
    assignment = assign_folds(rows, folds)
    scores: dict[str, np.ndarray] = {}
    for fold in range(folds):
        model = fit([r for r in rows if assignment[r.key] != fold], keep)
        for r in rows:
            if assignment[r.key] == fold and len(r.nct_ids):
                scores[r.key] = np.asarray(model.score(r.features))
    return scores


def top10(r: TopicRows, scores: np.ndarray | None, demote: bool = False) -> list[str]:
    """The topic's top 10 by ``scores`` (retrieval order breaks ties; None keeps it)."""
    if scores is None or not len(r.nct_ids):
        return list(r.nct_ids[:10])
    order = sorted(
        range(len(r.nct_ids)), key=lambda i: (demote and bool(r.excluded[i]), -scores[i], i)
    )
    return [r.nct_ids[i] for i in order[:10]]


def evaluate(rows: Sequence[TopicRows]) -> dict[str, dict[str, float | int]]:
    """Per collection and subset: NDCG@10 / P@10 of every ranking (learned ones under CV)."""
    learned = cross_validated_scores(rows)
    no_eligibility = cross_validated_scores(
        rows, keep=[f for f in FEATURE_NAMES if f not in ELIGIBILITY_FEATURES]
    )
    rankings: dict[str, Callable[[TopicRows], list[str]]] = {
        "bm25s_raw": lambda r: list(r.baseline),
        "retrieval": lambda r: top10(r, None),
        "retrieval+eligibility": lambda r: top10(r, r.linear),
        "learned_no_eligibility": lambda r: top10(r, no_eligibility.get(r.key)),
        "learned": lambda r: top10(r, learned.get(r.key)),
        "learned+demote": lambda r: top10(r, learned.get(r.key), demote=True),
    }
    out: dict[str, dict[str, float | int]] = {}
    for collection in dict.fromkeys(r.collection for r in rows):
        for subset in ("all", "oncology"):
            chosen = [
                r for r in rows if r.collection == collection and (subset == "all" or r.oncology)
            ]
            if not chosen:
                continue
            cell: dict[str, float | int] = {"topics": len(chosen)}
            for name, rank in rankings.items():
                ranked = [rank(r) for r in chosen]
                cell[f"{name}/ndcg@10"] = round(
                    float(
                        np.mean(
                            [ndcg_at_k(x, r.qrels) for x, r in zip(ranked, chosen, strict=True)]
                        )
                    ),
                    4,
                )
                cell[f"{name}/p@10"] = round(
                    float(
                        np.mean(
                            [
                                precision_at_k(x, r.qrels)
                                for x, r in zip(ranked, chosen, strict=True)
                            ]
                        )
                    ),
                    4,
                )
            out[f"{collection}/{subset}"] = cell
    return out


@lru_cache(maxsize=2)
def pooled_figures(
    data: Path, quick: bool = False, dense: bool = True
) -> dict[str, dict[str, float | int]]:
    """:func:`evaluate` over all three collections (memoised: Q3 and Q4 share one run)."""
    rows = collect_cached(data, quick=quick, dense=dense)
    figures = evaluate(rows)
    figures["_meta"] = {
        "dense": int(all(r.dense for r in rows)),
        "topics": len(rows),
        "folds": FOLDS,
        "candidates": 30 if quick else CANDIDATES,
    }
    return figures


def print_table(figures: dict[str, dict[str, float | int]]) -> None:
    """NDCG@10 / P@10 per collection, subset and ranking."""
    names = [k.split("/")[0] for k in next(iter(figures.values())) if k.endswith("/ndcg@10")]
    print(f"{'collection/subset':26} {'n':>3} " + " ".join(f"{n[:22]:>22}" for n in names))
    for key, cell in figures.items():
        if key.startswith("_"):
            continue
        cells = [f"{cell[f'{n}/ndcg@10']:.3f} / {cell[f'{n}/p@10']:.3f}" for n in names]
        print(f"{key:26} {cell['topics']:>3} " + " ".join(f"{c:>22}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--quick", action="store_true", help="8 topics a collection, no write")
    parser.add_argument("--no-dense", action="store_true", help="BM25 first stage, no write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    rows = collect_cached(args.data, quick=args.quick, dense=not args.no_dense)
    figures = evaluate(rows)
    print_table(figures)
    if args.quick or args.no_dense:
        return 0
    model = fit(rows)
    payload = model.to_json(
        trained_on={
            c: sum(1 for r in rows if r.collection == c)
            for c in dict.fromkeys(r.collection for r in rows)
        },
        candidates=CANDIDATES,
        dense=all(r.dense for r in rows),
        l2=L2,
        cv_folds=FOLDS,
        cv=figures,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {args.out}; sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    for name, weight in sorted(
        zip(FEATURE_NAMES, model.weights, strict=True), key=lambda t: -abs(t[1])
    ):
        print(f"{name:24} {weight:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
