"""A fixed 60-row slice of the Q5 benchmark, so the metric code and the verdict path are checked.

``data/q5_slice.jsonl``: the first 60 rows of TrialGPT's criterion annotations (dev part,
NCBI public-domain work, Jin et al. 2024), fields cut to those Q5 reads. The pinned numbers are
this engine's scores on the slice; a change in parsing or verdicts moves them and this test says
so (update the pins deliberately, with the benchmark table in docs/trials/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.q5_criterion_eligibility import _GOLD, LABELS, keyword_baseline, ours
from inference.trials.evaluation import macro_f1

SLICE = Path(__file__).resolve().parent / "data" / "q5_slice.jsonl"


def _score(predict: str) -> tuple[float, float]:
    rows = [json.loads(line) for line in SLICE.read_text(encoding="utf-8").splitlines()]
    gold = [_GOLD[r["expert_eligibility"]] for r in rows]
    predicted = []
    for r in rows:
        inclusion = r["criterion_type"] == "inclusion"
        if predict == "baseline":
            predicted.append(keyword_baseline(r["note"], r["criterion_text"], inclusion))
        else:
            predicted.append(
                ours(r["note"], r["criterion_text"], inclusion, closed_world=predict == "closed")
            )
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return accuracy, macro_f1(gold, predicted, LABELS)


@pytest.mark.parametrize(
    ("predict", "accuracy", "f1"),
    [("baseline", 0.25, 0.183), ("strict", 0.3167, 0.2017), ("closed", 0.6833, 0.4105)],
)
def test_the_q5_slice_scores_are_pinned(predict: str, accuracy: float, f1: float) -> None:
    got_accuracy, got_f1 = _score(predict)
    assert got_accuracy == pytest.approx(accuracy, abs=1e-3)
    assert got_f1 == pytest.approx(f1, abs=1e-3)


def test_ours_beats_the_keyword_baseline_on_the_slice() -> None:
    assert _score("closed")[1] > _score("baseline")[1]
    assert _score("strict")[0] > _score("baseline")[0]
