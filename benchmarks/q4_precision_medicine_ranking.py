"""Q4: TREC Precision Medicine 2017 clinical-trials task (30 oncology topics with variants).

Each topic gives a disease, gene variants, age/sex and comorbidities. Ours builds structured
PatientFacts from those fields (biomarkers with variants), retrieves with BM25 (+ MiniLM when the
corpus vectors are cached) and re-ranks with the learned re-ranker under the same pooled
topic-level cross-validation as Q3. Baseline: bm25s over the same trials with the topic fields
joined as text. Corpus: trials judged in TREC PM 2017 that have text.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmarks.common import BenchmarkResult, result_line
from benchmarks.q3_trial_ranking import OURS, pipeline_not_worse, report
from inference.training.trial_reranker import pooled_figures

ID = "Q4"
TITLE = "TREC PM 2017 trial ranking NDCG@10 / P@10 vs bm25s"
GOAL = 1.5


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run Q4 and print a table; returns the result dict."""
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    figures = pooled_figures(Path(args.data), bool(args.quick))
    collections = ("TREC PM 2017",)
    cells = report(figures, collections)
    cell = figures["TREC PM 2017/all"]
    ours, base = cell[f"{OURS}/ndcg@10"], cell["bm25s_raw/ndcg@10"]
    ratio = ours / base if base else 0.0
    return result_line(
        id=ID,
        metric="NDCG@10 (ours = learned re-ranker, 5-fold topic CV pooled with Q3's topics)",
        ours=ours,
        baseline=base,
        ratio=round(ratio, 3),
        goal=GOAL,
        met=ratio >= GOAL,
        quick=bool(args.quick),
        dense=bool(figures["_meta"]["dense"]),
        pipeline_not_worse_than_retrieval=pipeline_not_worse(figures, collections),
        detail=cells,
    )
