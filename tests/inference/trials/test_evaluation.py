from __future__ import annotations

import math
from pathlib import Path

import pytest

from inference.trials.evaluation import load_qrels, macro_f1, ndcg_at_k, precision_at_k


def test_ndcg_matches_a_hand_computed_value() -> None:
    judgements = {"a": 2, "b": 1, "c": 0, "d": 2}
    ranked = ["c", "a", "b", "x"]
    dcg = 0 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    ideal = 2 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, judgements, k=10) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(ranked, judgements, k=10) == pytest.approx(0.4683, abs=1e-4)


def test_ndcg_is_one_for_the_ideal_order_and_zero_without_relevant_documents() -> None:
    judgements = {"a": 2, "b": 1, "c": 0}
    assert ndcg_at_k(["a", "b", "c"], judgements) == pytest.approx(1.0)
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0


def test_ndcg_cuts_at_k() -> None:
    judgements = {"a": 1, "b": 1}
    assert ndcg_at_k(["x", "a", "b"], judgements, k=1) == 0.0


def test_precision_at_10_counts_graded_documents_over_ten() -> None:
    judgements = {"a": 2, "b": 1, "c": 0}
    assert precision_at_k(["a", "b", "c"], judgements) == pytest.approx(0.2)
    assert precision_at_k(["a", "b", "c"], judgements, threshold=2) == pytest.approx(0.1)


def test_macro_f1_averages_per_label_f1() -> None:
    gold = ["met", "met", "unknown", "not_met"]
    predicted = ["met", "unknown", "unknown", "met"]
    # met: tp1 fp1 fn1 -> 0.5; unknown: tp1 fp1 fn0 -> 0.667; not_met: 0.
    assert macro_f1(gold, predicted, ["met", "unknown", "not_met"]) == pytest.approx(
        (0.5 + 2 / 3 + 0) / 3
    )


def test_it_reads_both_qrels_formats(tmp_path: Path) -> None:
    tsv = tmp_path / "test.tsv"
    tsv.write_text("query-id\tcorpus-id\tscore\nq1\tNCT1\t2\nq1\tNCT2\t0\n")
    trec = tmp_path / "qrels.txt"
    trec.write_text("1 0 NCT1 2\n1 0 NCT3 1\n")
    assert load_qrels(tsv) == {"q1": {"NCT1": 2, "NCT2": 0}}
    assert load_qrels(trec) == {"1": {"NCT1": 2, "NCT3": 1}}
