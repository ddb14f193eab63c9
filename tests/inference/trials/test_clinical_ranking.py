"""A clinical check of the ranking on real shipped trials for one real-looking breast case.

The case is DEMO-0001's portrait: ER-positive, PIK3CA E545K invasive ductal carcinoma, operated
in 2019, then radiotherapy and endocrine therapy; HER2 and stage not recorded. Before the
record-level criteria, the learned ranking put a neoadjuvant Herceptin trial for DCIS (0 met,
13 unknown) and a HER2-positive neoadjuvant trial above the fulvestrant +/- AKT-inhibitor trial
for aromatase-inhibitor resistant breast cancer (8 met). A clinician rules the first two out
before reading a criterion: the patient has been operated on and her cancer is invasive.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pytest

from inference.trials.corpus import load_shipped_trials
from inference.trials.matching import MatchOptions, match_trials
from inference.trials.retrieval import TrialIndex
from inference.trials.schema import Biomarker, PatientFacts, PriorTherapy, TrialRecord

DCIS_NEOADJUVANT = "NCT00496808"
HER2_NEOADJUVANT = "NCT02568839"
FULVESTRANT_AKT = "NCT01992952"


@lru_cache(maxsize=1)
def _breast_trials() -> tuple[TrialRecord, ...]:
    # Every shipped breast trial, so the three compete with real neighbours, not fillers.
    return tuple(
        t for t in load_shipped_trials() if "breast" in " ".join((t.title, *t.conditions)).lower()
    )


def _operated_er_positive_case() -> PatientFacts:
    return PatientFacts(
        patient_id="demo-0001",
        as_of=dt.date(2026, 12, 7),
        age_years=61.0,
        sex="female",
        diagnosis_text="Breast Invasive Ductal Carcinoma",
        oncotree_code="IDC",
        biomarkers=(
            Biomarker("ER", "positive", date=dt.date(2019, 1, 5), source="molecular.csv"),
            Biomarker("PIK3CA", "mutated", "p.E545K", dt.date(2019, 1, 5), "molecular.csv"),
        ),
        prior_therapies=(
            PriorTherapy("surgery", dt.date(2019, 1, 26), source="timeline: surgery"),
            PriorTherapy("radiotherapy", dt.date(2019, 2, 23), source="timeline"),
            PriorTherapy(
                "Endocrine therapy (agent not recorded)", dt.date(2019, 4, 6), source="timeline"
            ),
        ),
    )


def test_the_three_trials_are_in_the_shipped_corpus() -> None:
    ids = {t.nct_id for t in _breast_trials()}
    assert {DCIS_NEOADJUVANT, HER2_NEOADJUVANT, FULVESTRANT_AKT} <= ids


@pytest.mark.slow
def test_neoadjuvant_trials_fall_below_the_fitting_trial_for_an_operated_patient() -> None:
    trials = _breast_trials()
    # Every breast trial is retrieved and checked (BM25 only here: no MiniLM in the tests).
    options = MatchOptions(candidates=len(trials))
    matches = match_trials(
        _operated_er_positive_case(), TrialIndex(list(trials)), k=len(trials), options=options
    )
    by_id = {m.nct_id: m for m in matches}
    assert {DCIS_NEOADJUVANT, HER2_NEOADJUVANT, FULVESTRANT_AKT} <= set(by_id)
    for nct_id in (DCIS_NEOADJUVANT, HER2_NEOADJUVANT):
        match = by_id[nct_id]
        assert match.summary.excluded
        setting = next(v for v in match.verdicts if v.criterion.criterion_id == "record-setting")
        assert setting.evidence[0].source == "timeline: surgery"
    dcis = by_id[DCIS_NEOADJUVANT]
    assert any(v.criterion.criterion_id == "record-in-situ" for v in dcis.verdicts)
    order = [m.nct_id for m in matches]
    assert not by_id[FULVESTRANT_AKT].summary.excluded
    assert order.index(FULVESTRANT_AKT) < order.index(HER2_NEOADJUVANT)
    assert order.index(FULVESTRANT_AKT) < order.index(DCIS_NEOADJUVANT)


def test_the_learned_score_does_not_prefer_a_trial_for_having_fewer_criteria() -> None:
    from inference.trials.reranker import FEATURE_NAMES

    assert not any("count" in name for name in FEATURE_NAMES)
