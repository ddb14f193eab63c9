"""P1: first-stage retrieval speed vs rank_bm25 at 10k and 25k trials, and hybrid latency.

Corpus: the first N trials of ``ctgov-trials`` (title, conditions, keywords, interventions,
summary, criteria). Queries: the SIGIR 2016 and TREC 2021 patient notes. Ours: ``TrialIndex``
(bm25s sparse scores + top-k). Baseline: ``rank_bm25.BM25Okapi`` on the same tokens. Hybrid adds
MiniLM query encoding, a dense product with stored trial vectors and rank fusion. Where the
embedding cache does not cover every trial, stored vectors are reused to fill the matrix: the
timing is the same, and the result says how many rows were reused.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import BenchmarkResult, result_line
from benchmarks.q3_trial_ranking import CACHE
from inference.trials.corpus import SUBSET_EMBEDDINGS_PATH
from inference.trials.evaluation import load_queries
from inference.trials.records import iter_jsonl, trial_from_corpus_json
from inference.trials.retrieval import (
    StoredEmbeddings,
    TrialIndex,
    load_embeddings,
    tokenize,
    trial_text,
)
from inference.trials.schema import TrialRecord

ID = "P1"
TITLE = "Retrieval queries/s vs rank_bm25 at 10k/25k trials (goal >= 100x, p95 5 ms / 150 ms)"
GOAL = 100.0


def _latencies(fn: Callable[[str], object], queries: list[str]) -> np.ndarray:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000.0


def _stored_vectors(trials: list[TrialRecord]) -> tuple[StoredEmbeddings | None, int]:
    pools = [load_embeddings(p) for p in (CACHE, SUBSET_EMBEDDINGS_PATH) if p.exists()]
    if not pools:
        return None, 0
    rows: dict[str, np.ndarray] = {}
    for pool in pools:
        for nct, vector in zip(pool.ids, pool.matrix, strict=True):
            rows.setdefault(nct, vector)
    filler = np.stack(list(rows.values()))
    matrix = np.zeros((len(trials), filler.shape[1]), dtype=np.float32)
    reused = 0
    for i, trial in enumerate(trials):
        vector = rows.get(trial.nct_id)
        if vector is None:
            vector = filler[i % len(filler)]
            reused += 1
        matrix[i] = vector
    return StoredEmbeddings(tuple(t.nct_id for t in trials), matrix), reused


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run P1 and print a table; returns the result dict."""
    from rank_bm25 import BM25Okapi

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    data = Path(args.data)
    corpus = data / "ctgov-trials" / "trials.jsonl.gz"
    if not corpus.exists():
        raise SystemExit(f"{corpus} is missing; pass --data pointing at the shared data folder")
    all_trials = [
        trial_from_corpus_json(o, r) for r, o in iter_jsonl(corpus) if isinstance(o, dict)
    ]
    queries = list(load_queries(data / "trialgpt-sigir2016" / "queries.jsonl").values())
    queries += list(load_queries(data / "trialgpt-trec2021" / "queries.jsonl").values())
    sizes = (2000, 5000) if args.quick else (10000, len(all_trials))
    n_baseline = 5 if args.quick else 20
    # Query encoding dominates hybrid latency (~0.3 s a note on this 2-core machine), so fewer
    # queries are timed there.
    n_hybrid = 3 if args.quick else 40
    encode = None
    try:
        from inference.trials.embed import SentenceEmbedder

        encode = SentenceEmbedder().encode
    except (ImportError, RuntimeError):
        encode = None
    rows = []
    for size in sizes:
        trials = all_trials[:size]
        start = time.perf_counter()
        embeddings, reused = _stored_vectors(trials) if encode else (None, 0)
        index = TrialIndex(trials, embeddings=embeddings, encode=encode)
        build_s = time.perf_counter() - start

        def first_stage(q: str, ix: TrialIndex = index) -> object:
            return ix.bm25_search(q, k=100)

        def hybrid_search(q: str, ix: TrialIndex = index) -> object:
            return ix.search(q, k=100, mode="hybrid")

        ours = _latencies(first_stage, queries)
        tokenized = [tokenize(trial_text(t)) or ["<empty>"] for t in trials]
        baseline_index = BM25Okapi(tokenized)

        def baseline(q: str, bm=baseline_index) -> list[int]:
            scores = bm.get_scores(tokenize(q))
            return list(np.argsort(-scores)[:100])

        base = _latencies(baseline, queries[:n_baseline])
        hybrid = (
            _latencies(hybrid_search, queries[:n_hybrid])
            if embeddings is not None
            else np.array([np.nan])
        )
        # The same hybrid search with query vectors computed beforehand: what remains is BM25,
        # the dense product and the fusion.
        fusion = np.array([np.nan])
        if embeddings is not None and encode is not None:
            timed = queries[:n_hybrid]
            vectors = dict(zip(timed, encode(timed), strict=True))

            def lookup(texts: list[str], table: dict[str, np.ndarray] = vectors) -> np.ndarray:
                return np.stack([table[t] for t in texts])

            index.encode = lookup
            fusion = _latencies(hybrid_search, timed)
            index.encode = encode
        row = {
            "trials": size,
            "index_build_s": round(build_s, 2),
            "ours_qps": round(1000.0 / float(ours.mean()), 1),
            "ours_p50_ms": round(float(np.percentile(ours, 50)), 2),
            "ours_p95_ms": round(float(np.percentile(ours, 95)), 2),
            "rank_bm25_qps": round(1000.0 / float(base.mean()), 2),
            "rank_bm25_p95_ms": round(float(np.percentile(base, 95)), 1),
            "hybrid_p50_ms": round(float(np.percentile(hybrid, 50)), 1),
            "hybrid_p95_ms": round(float(np.percentile(hybrid, 95)), 1),
            "hybrid_without_encoding_p95_ms": round(float(np.percentile(fusion, 95)), 2),
            "dense_rows_reused": reused,
            "queries": len(queries),
            "baseline_queries": n_baseline,
            "hybrid_queries": n_hybrid if embeddings is not None else 0,
        }
        row["speedup"] = round(row["ours_qps"] / row["rank_bm25_qps"], 1)
        rows.append(row)
    print(
        f"{'trials':>7} {'ours q/s':>9} {'p95 ms':>7} {'rank_bm25 q/s':>14} {'speedup':>8} "
        f"{'hybrid p95':>11} {'w/o encoding p95':>17} {'reused':>7}"
    )
    for r in rows:
        print(
            f"{r['trials']:>7} {r['ours_qps']:>9} {r['ours_p95_ms']:>7} {r['rank_bm25_qps']:>14} "
            f"{r['speedup']:>8} {r['hybrid_p95_ms']:>11} "
            f"{r['hybrid_without_encoding_p95_ms']:>17} {r['dense_rows_reused']:>7}"
        )
    largest = rows[-1]
    return result_line(
        id=ID,
        metric=f"first-stage queries/s at {largest['trials']} trials",
        ours=largest["ours_qps"],
        baseline=largest["rank_bm25_qps"],
        ratio=largest["speedup"],
        goal=GOAL,
        met=bool(
            all(r["speedup"] >= GOAL and r["ours_p95_ms"] <= 5.0 for r in rows)
            and all(r["hybrid_p95_ms"] <= 150.0 for r in rows)
        ),
        sizes=rows,
        quick=bool(args.quick),
    )
