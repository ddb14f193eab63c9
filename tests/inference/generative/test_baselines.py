"""The G1 imputation baselines on a small real slice: shapes, samples, and better than nothing.

The slice: BRCA and LUAD cases of fold 0, imputing copy-number calls both cohorts carry from RNA
(gene dosage moves expression, so the task is easy) and clinical facts. "Nothing at all" is
predicting 0 everywhere: no copy-number change.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.generative.baselines import (
    BASELINES,
    BaselineImputation,
    ImputationInputs,
    impute_mice,
    impute_mofa,
)
from inference.generative.data import fold_split, load_cohorts
from tests.paths import SHARED_DATA

pytest.importorskip("sklearn", reason="training extras (requirements-train.txt)")
pytest.importorskip("miceforest", reason="training extras (requirements-train.txt)")
pytest.importorskip("mofapy2", reason="training extras (requirements-train.txt)")
pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")

N_TRAIN, N_TEST = 240, 60


COHORTS = ("brca", "luad")


@pytest.fixture(scope="module")
def slice_() -> tuple[ImputationInputs, np.ndarray]:
    table = load_cohorts(SHARED_DATA, COHORTS)
    train_rows, test_rows = [], []
    for cohort in COHORTS:
        train, test = fold_split(table, cohort, 0, data_dir=SHARED_DATA)
        train_rows.append(train[: N_TRAIN // 2])
        test_rows.append(test[: N_TEST // 2])
    train_idx, test_idx = np.concatenate(train_rows), np.concatenate(test_rows)
    # copy-number genes both cohorts carry; the first 300 RNA genes they both carry
    cnv = np.flatnonzero(np.isfinite(table.cnv[np.r_[train_idx, test_idx]]).all(0))[:120]
    rna = np.flatnonzero(np.isfinite(table.rna[train_idx]).all(0))[:300]
    matrices = {"clinical": table.clinical, "rna": table.rna[:, rna], "cnv": table.cnv[:, cnv]}
    inputs = ImputationInputs(
        train={m: v[train_idx] for m, v in matrices.items()},
        train_types=tuple(table.cancer_type[train_idx]),
        test={m: v[test_idx] for m, v in matrices.items() if m != "cnv"},
        test_types=tuple(table.cancer_type[test_idx]),
        target="cnv",
    )
    return inputs, matrices["cnv"][test_idx]


@pytest.fixture(scope="module")
def inputs(slice_: tuple[ImputationInputs, np.ndarray]) -> ImputationInputs:
    return slice_[0]


@pytest.fixture(scope="module")
def truth(slice_: tuple[ImputationInputs, np.ndarray]) -> np.ndarray:
    return slice_[1]


@pytest.fixture(scope="module")
def imputed(inputs: ImputationInputs) -> dict[str, BaselineImputation]:
    return {name: _fast(name, inputs) for name in BASELINES}


def _fast(name: str, inputs: ImputationInputs) -> BaselineImputation:
    """Each baseline at a test-sized setting (MICE and MOFA+ trimmed to seconds)."""
    if name == "mice":
        return impute_mice(inputs, target_components=4, predictor_components=8, datasets=2,
                           iterations=1, seed=0)  # fmt: skip
    if name == "mofa":
        return impute_mofa(inputs, factors=4, iterations=15, n_samples=10, seed=0)
    return BASELINES[name](inputs, seed=0)


@pytest.mark.parametrize("name", list(BASELINES))
def test_each_baseline_returns_predictions_and_samples_of_the_target_shape(name, imputed, truth):
    out = imputed[name]
    assert out.method == name
    assert out.mean.shape == truth.shape
    assert np.isfinite(out.mean).all()
    assert out.samples is not None
    assert out.samples.ndim == 3 and out.samples.shape[1:] == truth.shape
    assert out.samples.shape[0] >= 2
    assert out.note


@pytest.mark.parametrize("name", list(BASELINES))
def test_each_baseline_beats_predicting_no_change(name, imputed, truth):
    out = imputed[name]
    nothing = float(np.mean(truth**2))
    assert float(np.mean((out.mean - truth) ** 2)) < nothing


def test_cohort_mean_predicts_each_types_training_mean(inputs, imputed):
    out = imputed["cohort_mean"]
    types = np.asarray(inputs.train_types)
    brca = np.nanmean(np.asarray(inputs.train["cnv"])[types == "brca"], axis=0)
    rows = np.asarray(inputs.test_types) == "brca"
    np.testing.assert_allclose(out.mean[rows], np.broadcast_to(brca, out.mean[rows].shape))
