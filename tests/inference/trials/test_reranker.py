from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from inference.trials.matching import MatchOptions, match_trials
from inference.trials.reranker import (
    FEATURE_NAMES,
    WEIGHTS_PATH,
    RetrievalSignals,
    candidate_features,
    default_reranker,
    load_reranker,
)
from inference.trials.retrieval import TrialIndex
from inference.trials.schema import (
    Biomarker,
    EligibilitySummary,
    Fact,
    PatientFacts,
    TrialRecord,
)

TODAY = dt.date(2026, 11, 1)
# Features read from the criteria verdicts (the trial's criteria count is the trial's own).
ELIGIBILITY = (
    "eligibility_satisfied",
    "eligibility_not_failed",
    "hard_exclusion",
    "no_criteria",
    "age_outside",
    "sex_mismatch",
)


def _melanoma_patient() -> PatientFacts:
    return PatientFacts(
        "p",
        TODAY,
        age_years=55.0,
        sex="male",
        diagnosis_text="metastatic melanoma",
        stage=Fact("IV", TODAY),
        biomarkers=(Biomarker("BRAF", "mutated", "V600E", TODAY, "lab"),),
        brain_metastases=Fact(False, TODAY),
    )


def _trial(nct_id: str, title: str, criteria: str, **fields: object) -> TrialRecord:
    return TrialRecord(
        nct_id,
        title=title,
        conditions=("Melanoma",),
        summary="A study of treatment for patients with metastatic melanoma.",
        eligibility_text=criteria,
        **fields,  # type: ignore[arg-type]
    )


ELIGIBLE_CRITERIA = (
    "Inclusion Criteria:\n- Histologically confirmed metastatic melanoma\n"
    "- BRAF V600E mutation\n- Age 18 years or older\n"
    "Exclusion Criteria:\n- Brain metastases"
)
EXCLUDING_CRITERIA = (
    "Inclusion Criteria:\n- Histologically confirmed metastatic melanoma\n"
    "- Age 65 years or older\nExclusion Criteria:\n- BRAF V600 mutation"
)
# Other melanoma trials so that BM25 has a corpus to weigh terms against.
FILLER = tuple(
    _trial(f"NCT8000000{i}", f"Study {i} of {topic}", f"Inclusion Criteria:\n- {topic}")
    for i, topic in enumerate(
        ("uveal melanoma surgery", "prostate cancer imaging", "breast cancer exercise")
    )
)


def test_the_shipped_reranker_loads_only_with_its_pinned_hash(tmp_path: Path) -> None:
    model = load_reranker()
    assert model.features == FEATURE_NAMES
    assert np.all(np.isfinite(model.weights)) and np.all(model.scale > 0)
    changed = json.loads(WEIGHTS_PATH.read_text())
    changed["weights"][0] += 1.0
    copy = tmp_path / "reranker.json"
    copy.write_text(json.dumps(changed))
    with pytest.raises(ValueError, match="sha256"):
        load_reranker(copy)
    # The check can be skipped for a file one trains oneself; the content must still fit.
    assert load_reranker(copy, sha256=None).weights[0] != model.weights[0]
    changed["features"] = changed["features"][:-1]
    copy.write_text(json.dumps(changed))
    with pytest.raises(ValueError, match="features"):
        load_reranker(copy, sha256=None)


def test_the_reranker_scores_the_same_twice() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, len(FEATURE_NAMES)))
    model = default_reranker()
    first = np.asarray(model.score(x))
    assert first.shape == (5,)
    assert np.array_equal(first, np.asarray(model.score(x)))
    assert model.score(x[0]) == pytest.approx(first[0])


def test_it_ranks_the_trial_for_the_patients_variant_above_one_that_excludes_them() -> None:
    matching = _trial(
        "NCT90000001", "Dabrafenib for BRAF V600E mutant metastatic melanoma", ELIGIBLE_CRITERIA
    )
    excluding = _trial(
        "NCT90000002", "Immunotherapy for metastatic melanoma", EXCLUDING_CRITERIA, min_age_years=65
    )
    index = TrialIndex([excluding, matching, *FILLER])
    options = MatchOptions(demote_excluded=False)  # the learned score alone decides
    matches = match_trials(_melanoma_patient(), index, k=5, options=options)
    ranked = [m.nct_id for m in matches]
    assert ranked.index("NCT90000001") < ranked.index("NCT90000002")
    top = matches[0]
    assert not top.summary.excluded
    # The reasons say which features moved the trial.
    assert any(r.startswith("ranking (trial-reranker-2): raised by") for r in top.rank_reasons)


def test_eligibility_never_puts_an_ineligible_trial_above_a_fully_eligible_one() -> None:
    patient = _melanoma_patient()
    # Same text, so retrieval cannot tell them apart; only the criteria differ.
    eligible = _trial("NCT90000003", "Targeted therapy in metastatic melanoma", ELIGIBLE_CRITERIA)
    ineligible = dataclasses.replace(
        eligible, nct_id="NCT90000004", eligibility_text=EXCLUDING_CRITERIA
    )
    index = TrialIndex([ineligible, eligible, *FILLER])
    matches = match_trials(patient, index, k=5, options=MatchOptions(demote_excluded=False))
    ranked = [m.nct_id for m in matches]
    assert ranked.index("NCT90000003") < ranked.index("NCT90000004")
    # Feature by feature: whatever the retrieval signals, the eligibility part of the score
    # favours the eligible trial, and with equal retrieval so does the whole score.
    model = default_reranker()
    better = RetrievalSignals(retrieval=1.0, bm25=1.0, bm25_rank=0, dense_rank=0)
    weaker = RetrievalSignals(retrieval=0.6, bm25=0.6, bm25_rank=5, dense_rank=5)
    tokens = frozenset({"metastatic", "melanoma"})
    which = [FEATURE_NAMES.index(f) for f in ELIGIBILITY]
    for summary in (
        EligibilitySummary(True, 2, 2, 0, 0),  # a hard exclusion
        EligibilitySummary(False, 2, 1, 3, 0),  # a failed criterion, no hard exclusion
        EligibilitySummary(False, 0, 0, 6, 0),  # nothing known
    ):
        for signals in (better, weaker):
            x_eligible = candidate_features(
                patient, eligible, signals, EligibilitySummary(False, 6, 0, 0, 1), True, tokens
            )
            x_other = candidate_features(patient, ineligible, signals, summary, True, tokens)
            parts = model.contributions(x_eligible)[which], model.contributions(x_other)[which]
            assert parts[0].sum() >= parts[1].sum()
            assert model.score(x_eligible) >= model.score(x_other)


def test_the_fitted_weights_keep_the_eligibility_signs() -> None:
    weights = dict(zip(FEATURE_NAMES, default_reranker().weights, strict=True))
    assert weights["eligibility_satisfied"] >= 0 and weights["eligibility_not_failed"] >= 0
    assert weights["hard_exclusion"] <= 0 and weights["age_outside"] <= 0
    assert weights["sex_mismatch"] <= 0 and weights["condition_other"] <= 0


def test_features_see_the_patients_gene_and_variant_in_the_trial() -> None:
    patient = _melanoma_patient()
    signals = RetrievalSignals(retrieval=0.5, bm25=0.4, bm25_rank=3, dense_rank=-1)
    summary = EligibilitySummary(False, 3, 1, 2, 0)
    braf = _trial("NCT90000005", "BRAF V600E melanoma", ELIGIBLE_CRITERIA, max_age_years=50)
    other = _trial(
        "NCT90000006", "Melanoma vaccine", "Inclusion Criteria:\n- Melanoma", sex="female"
    )
    x = dict(
        zip(
            FEATURE_NAMES,
            candidate_features(patient, braf, signals, summary, True, frozenset()),
            strict=True,
        )
    )
    assert x["gene_match"] == 1.0 and x["gene_in_title"] == 1.0 and x["variant_match"] == 1.0
    assert x["age_outside"] == 1.0 and x["sex_mismatch"] == 0.0
    assert x["dense_missing"] == 1.0 and x["dense_rank"] == 0.0
    assert x["eligibility_satisfied"] == pytest.approx(0.5)
    assert x["condition_match"] == 1.0 and x["condition_other"] == 0.0
    y = dict(
        zip(
            FEATURE_NAMES,
            candidate_features(patient, other, signals, summary, False, frozenset()),
            strict=True,
        )
    )
    assert y["gene_match"] == 0.0 and y["variant_match"] == 0.0
    assert y["sex_mismatch"] == 1.0 and y["condition_other"] == 1.0
