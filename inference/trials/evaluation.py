"""Ranking metrics and benchmark-data readers shared by the trial benchmarks.

Metrics follow trec_eval conventions: linear gains (0/1/2) for NDCG, relevance threshold 1 for
precision, unjudged documents count as gain 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path


def dcg_at_k(gains: Sequence[float], k: int = 10) -> float:
    """Discounted cumulative gain of a gain list in rank order (linear gains, log2 discount)."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ndcg_at_k(ranked: Sequence[str], judgements: Mapping[str, int], k: int = 10) -> float:
    """NDCG@k of a ranking against graded judgements.

    Args:
        ranked: document ids, best first.
        judgements: id -> grade (unjudged ids count 0).
        k: cut-off.

    Returns:
        NDCG in [0, 1]; 0 when no document has a positive grade.
    """
    ideal = dcg_at_k(sorted(judgements.values(), reverse=True), k)
    if ideal == 0:
        return 0.0
    return dcg_at_k([judgements.get(d, 0) for d in ranked], k) / ideal


def precision_at_k(
    ranked: Sequence[str], judgements: Mapping[str, int], k: int = 10, threshold: int = 1
) -> float:
    """Share of the top k with grade >= ``threshold`` (short rankings still divide by k)."""
    return sum(1 for d in ranked[:k] if judgements.get(d, 0) >= threshold) / k


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read qrels: TSV with header ``query-id corpus-id score`` or trec_eval ``q 0 doc grade``."""
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0] == "query-id":
            continue
        if len(parts) == 4:
            query, doc, grade = parts[0], parts[2], parts[3]
        else:
            query, doc, grade = parts[0], parts[1], parts[2]
        qrels.setdefault(query, {})[doc] = int(grade)
    return qrels


def load_queries(path: Path) -> dict[str, str]:
    """Read ``queries.jsonl`` lines ``{"_id", "text"}``."""
    queries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            obj = json.loads(line)
            queries[obj["_id"]] = obj["text"]
    return queries


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of per-label F1 over ``labels`` (a label absent from both scores 0)."""
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p == label and g != label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        denominator = 2 * tp + fp + fn
        scores.append(2 * tp / denominator if denominator else 0.0)
    return sum(scores) / len(scores) if scores else 0.0
