from __future__ import annotations

import numpy as np

from inference.training.trial_reranker import (
    TopicRows,
    assign_folds,
    cross_validated_scores,
    evaluate,
    fit,
)
from inference.trials.reranker import FEATURE_NAMES

SIGNAL = FEATURE_NAMES.index("variant_match")


def _rows(collection: str, topics: int, seed: int) -> list[TopicRows]:
    """Topics whose relevant trials are exactly those with ``variant_match`` set."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(topics):
        n = 20
        x = rng.normal(size=(n, len(FEATURE_NAMES)))
        relevant = rng.random(n) < 0.3
        x[:, SIGNAL] = relevant.astype(float)
        ids = tuple(f"NCT{t:03d}{i:05d}" for i in range(n))
        grades = relevant.astype(float) * 2
        rows.append(
            TopicRows(
                collection=collection,
                topic_id=f"{collection}-{t}",
                oncology=t % 2 == 0,
                nct_ids=ids,
                features=x,
                grades=grades,
                retrieval=rng.random(n),
                linear=rng.random(n),
                excluded=np.zeros(n, dtype=bool),
                qrels={i: int(g) for i, g in zip(ids, grades, strict=True) if g},
                baseline=ids[:10],
                dense=False,
            )
        )
    return rows


def test_the_pairwise_fit_finds_the_feature_that_orders_the_judgements() -> None:
    model = fit(_rows("a", 12, 0))
    assert int(np.argmax(model.weights)) == SIGNAL
    # Ablation: a feature left out gets no weight.
    ablated = fit(_rows("a", 12, 0), keep=[f for f in FEATURE_NAMES if f != "variant_match"])
    assert ablated.weights[SIGNAL] == 0.0


def test_folds_split_by_topic_and_balance_each_collection() -> None:
    rows = _rows("a", 11, 1) + _rows("b", 7, 2)
    folds = assign_folds(rows, 5)
    assert set(folds) == {r.key for r in rows}
    assert assign_folds(rows, 5) == folds  # seeded
    for collection, size in (("a", 11), ("b", 7)):
        counts = np.bincount([folds[r.key] for r in rows if r.collection == collection])
        assert counts.sum() == size and counts.max() - counts.min() <= 1


def test_cross_validated_scores_come_from_models_that_never_saw_the_topic() -> None:
    rows = _rows("a", 10, 3)
    # Poison one topic: its judgements reward the opposite of every other topic's.
    poisoned = rows[0]
    flipped = np.where(poisoned.grades > 0, 0.0, 2.0)
    rows[0] = TopicRows(
        **{**poisoned.__dict__, "grades": flipped, "qrels": {}},
    )
    scores = cross_validated_scores(rows)
    assert set(scores) == {r.key for r in rows}
    # Fitted without the poisoned topic, its model still prefers variant matches there.
    x = rows[0].features
    assert (
        scores[rows[0].key][x[:, SIGNAL] == 1].mean()
        > scores[rows[0].key][x[:, SIGNAL] == 0].mean()
    )


def test_evaluate_reports_every_ranking_per_collection_and_subset() -> None:
    figures = evaluate(_rows("a", 10, 4))
    assert set(figures) == {"a/all", "a/oncology"}
    cell = figures["a/all"]
    assert cell["topics"] == 10
    # The synthetic judgements follow one feature: the learned ranking is perfect under CV.
    assert cell["learned/ndcg@10"] == 1.0
    assert cell["learned/ndcg@10"] > cell["retrieval/ndcg@10"]
