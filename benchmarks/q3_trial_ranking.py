"""Q3: patient -> trial ranking on SIGIR 2016 and TREC 2021 (NDCG@10, P@10) vs plain BM25.

Corpus per collection: the trials of ``ctgov-trials`` judged in that collection that have any
text. Baseline: bm25s over the same trial text with the raw patient note as query. Ours:
retrieval (BM25 + MiniLM fused when the corpus vectors are cached, BM25 otherwise) over facts
read from the note, then the learned re-ranker of ``inference.trials.reranker``, scored under
topic-level cross-validation: the topics of SIGIR 2016, TREC 2021 and TREC PM 2017 are pooled
into 5 folds and each topic is ranked by a model fitted without its fold
(``inference.training.trial_reranker``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BenchmarkResult, result_line
from inference.training.trial_reranker import DENSE_CACHE, pooled_figures

ID = "Q3"
TITLE = "Trial ranking NDCG@10 / P@10 on SIGIR 2016 + TREC 2021 vs bm25s (goal >= 1.5x)"
GOAL = 1.5

# The rankings a run reports, baseline first (Q4 reports the same ones).
REPORTED_VARIANTS = (
    "bm25s_raw",
    "retrieval",
    "retrieval+eligibility",
    "learned_no_eligibility",
    "learned",
    "learned+demote",
)
OURS = "learned"
# P1 times the same corpus vectors.
CACHE = DENSE_CACHE


def report(
    figures: dict[str, dict[str, Any]], collections: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Print the table for ``collections`` and return their cells, with the pipeline check."""
    print(f"{'collection':24} {'n':>3} " + " ".join(f"{v[:22]:>22}" for v in REPORTED_VARIANTS))
    cells = []
    for key, cell in figures.items():
        if key.split("/")[0] not in collections:
            continue
        values = [
            f"{cell[f'{v}/ndcg@10']:.3f} / {cell[f'{v}/p@10']:.3f}" for v in REPORTED_VARIANTS
        ]
        print(f"{key:24} {cell['topics']:>3} " + " ".join(f"{c:>22}" for c in values))
        cells.append({"subset": key, **cell})
    for key in (f"{c}/all" for c in collections):
        cell = figures[key]
        ours, alone = cell[f"{OURS}/ndcg@10"], cell["retrieval/ndcg@10"]
        verdict = "yes" if ours >= alone else "NO"
        print(f"{key}: full pipeline {ours:.3f} >= retrieval alone {alone:.3f}: {verdict}")
    return cells


def pipeline_not_worse(figures: dict[str, dict[str, Any]], collections: tuple[str, ...]) -> bool:
    """The full pipeline's NDCG@10 is at least retrieval alone's on every collection."""
    return all(
        figures[f"{c}/all"][f"{OURS}/ndcg@10"] >= figures[f"{c}/all"]["retrieval/ndcg@10"]
        for c in collections
    )


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run Q3 and print a table; returns the result dict."""
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    figures = pooled_figures(Path(args.data), bool(args.quick))
    collections = ("SIGIR 2016", "TREC 2021")
    cells = report(figures, collections)
    ours = float(np.mean([figures[f"{c}/all"][f"{OURS}/ndcg@10"] for c in collections]))
    base = float(np.mean([figures[f"{c}/all"]["bm25s_raw/ndcg@10"] for c in collections]))
    ratio = ours / base if base else 0.0
    return result_line(
        id=ID,
        metric="NDCG@10 (mean of SIGIR 2016 and TREC 2021; ours = learned re-ranker, topic CV)",
        ours=round(ours, 4),
        baseline=round(base, 4),
        ratio=round(ratio, 3),
        goal=GOAL,
        met=ratio >= GOAL,
        quick=bool(args.quick),
        dense=bool(figures["_meta"]["dense"]),
        pipeline_not_worse_than_retrieval=pipeline_not_worse(figures, collections),
        collections=cells,
    )
