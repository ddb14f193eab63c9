"""Next best test: every missing test is named, the ranking is seeded, the arithmetic is exact.

A real held-out LUAD case (fold 0 test part) with the shipped survival and generative models.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.generative.next_test import (
    COMMON_DRIVERS,
    ExternalOutcome,
    ExternalTest,
    expected_change,
    rank_next_tests,
)
from inference.generative.profile import TumourObservation
from tests.inference.generative.conftest import held_out_fold0
from tests.paths import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")
FAST = 2  # drawn results per test and imputations per result: enough to exercise the code


@pytest.fixture(scope="module")
def case():
    table, test = held_out_fold0("luad")
    return table, int(test[0])


def _clinical_only(table, row: int) -> TumourObservation:
    return TumourObservation(
        cancer_type="LUAD",
        age=float(table.clinical[row, 0]),
        is_female=bool(table.clinical[row, 1]),
    )


@pytest.mark.slow
def test_every_missing_test_is_named_and_ranked(models, case):
    predictor, generative = models
    table, row = case
    receptors = ExternalTest(
        "receptors",
        "ER/PR/HER2",
        (ExternalOutcome("positive", 0.5, 0.7), ExternalOutcome("negative", 0.5, 0.5)),
    )
    ranking = rank_next_tests(
        predictor,
        generative,
        _clinical_only(table, row),
        external=(receptors,),
        resolves={"mutation:EGFR": ("osimertinib: needs EGFR status",)},
        seed=0,
        n_outer=FAST,
        n_inner=FAST,
    )
    luad = generative.carried_mask("mutation", np.array([generative.type_index("LUAD")]))[0]
    carried = {
        g.upper() for g, kept in zip(generative.names["mutation"], luad, strict=True) if kept
    }
    expected = {"rna", "cnv", "mutation", "receptors"} | {
        f"mutation:{g}" for g in COMMON_DRIVERS if g in carried
    }
    assert {"mutation:TP53", "mutation:KRAS", "mutation:EGFR"} <= expected
    keys = [t.key for t in ranking.tests]
    assert sorted(keys) == sorted(expected)
    assert [t.rank for t in ranking.tests] == list(range(1, len(keys) + 1))
    changes = [t.expected_change for t in ranking.tests]
    assert changes == sorted(changes, reverse=True)
    assert all(t.reasoning.startswith(t.label) for t in ranking.tests)
    egfr = next(t for t in ranking.tests if t.key == "mutation:EGFR")
    assert "osimertinib" in egfr.reasoning and egfr.resolves
    assert ranking.current_3y is not None and 0.0 < ranking.current_3y < 1.0
    assert ranking.research_use and ranking.generative_model


@pytest.mark.slow
def test_a_measured_modality_is_not_offered_again(models, case):
    predictor, generative = models
    table, row = case
    base = _clinical_only(table, row)
    rna = {g: float(v) for g, v in zip(table.rna_names, table.rna[row], strict=True)}
    with_rna = TumourObservation(base.cancer_type, base.age, base.is_female, rna=rna)
    keys = {
        t.key
        for t in rank_next_tests(predictor, generative, with_rna, n_outer=FAST, n_inner=FAST).tests
    }
    assert "rna" not in keys and {"cnv", "mutation"} <= keys


@pytest.mark.slow
def test_the_ranking_is_deterministic_for_a_seed(models, case):
    predictor, generative = models
    table, row = case
    observation = _clinical_only(table, row)
    first = rank_next_tests(predictor, generative, observation, seed=5, n_outer=FAST, n_inner=FAST)
    again = rank_next_tests(predictor, generative, observation, seed=5, n_outer=FAST, n_inner=FAST)
    assert first == again


def test_expected_change_is_the_mean_absolute_deviation_of_the_post_test_estimate():
    values = np.array([[0.7], [0.5]])
    weights = np.array([[0.25], [0.75]])
    change, spread = expected_change(values, weights)
    # mean 0.55; |0.15| * 0.25 + |0.05| * 0.75 = 0.075
    assert change[0] == pytest.approx(0.075)
    assert spread[0] == pytest.approx(np.sqrt(0.25 * 0.15**2 + 0.75 * 0.05**2))
