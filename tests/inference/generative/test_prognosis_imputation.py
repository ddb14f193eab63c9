"""Prognosis under multiple imputation: the band widens when RNA is imputed instead of measured.

Real held-out BLCA cases (fold 0 test part), the shipped survival model and the shipped generative
model (both trained on fold 0's training part).
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.generative.model import UntrainedTypeError
from inference.generative.profile import TumourObservation
from inference.generative.prognosis_imputation import pool, prognosis_case
from tests.inference.generative.conftest import held_out_fold0
from tests.paths import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")
N_CASES = 4


def observation(table, row: int, *, with_rna: bool) -> TumourObservation:
    def measured(matrix: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
        return {n: float(v) for n, v in zip(names, matrix[row], strict=True) if np.isfinite(v)}

    mutations = measured(table.mutation, table.mutation_names)
    return TumourObservation(
        cancer_type=str(table.oncotree_code[row]),
        age=float(table.clinical[row, 0]),
        is_female=bool(table.clinical[row, 1]),
        mutations={g: bool(v) for g, v in mutations.items()},
        cnv=measured(table.cnv, table.cnv_names),
        rna=measured(table.rna, table.rna_names) if with_rna else None,
    )


@pytest.fixture(scope="module")
def cases():
    table, test = held_out_fold0("blca")
    return table, test[:N_CASES]


def _width_3y(result) -> float:
    assert result.lower_3y is not None and result.upper_3y is not None
    return result.upper_3y - result.lower_3y


def test_imputing_rna_widens_the_band_over_measured_rna(models, cases):
    predictor, generative = models
    table, rows = cases
    for row in rows:
        measured = prognosis_case(predictor, generative, observation(table, row, with_rna=True))
        imputed = prognosis_case(
            predictor, generative, observation(table, row, with_rna=False), n_samples=12, seed=0
        )
        assert measured.imputed == () and "rna" in measured.measured
        assert measured.n_samples == 0 and measured.generative_model == ""
        assert imputed.imputed == ("rna",) and "rna" not in imputed.measured
        assert imputed.n_samples == 12 and imputed.generative_model
        assert "imputed" in imputed.band and imputed.research_use
        assert _width_3y(imputed) > _width_3y(measured)
        assert imputed.survival_3y is not None
        assert _width_3y(imputed) >= 0.0 and imputed.lower_3y is not None
        assert imputed.lower_3y <= imputed.survival_3y


def test_the_pooled_prognosis_is_seeded(models, cases):
    predictor, generative = models
    table, rows = cases
    case = observation(table, rows[0], with_rna=False)
    first = prognosis_case(predictor, generative, case, n_samples=6, seed=3)
    again = prognosis_case(predictor, generative, case, n_samples=6, seed=3)
    other = prognosis_case(predictor, generative, case, n_samples=6, seed=4)
    assert first == again
    assert first.survival != other.survival


def test_pool_is_the_mean_and_central_80_percent_of_the_curves():
    grid = np.array([0.0, 12.0, 24.0])
    # 11 curves per case whose value at every time is 0.0, 0.1, ..., 1.0
    curves = np.broadcast_to(np.linspace(0.0, 1.0, 11)[:, None, None], (11, 2, 3))
    pooled = pool(grid, curves)
    np.testing.assert_allclose(pooled.survival, 0.5)
    np.testing.assert_allclose(pooled.lower, 0.1)
    np.testing.assert_allclose(pooled.upper, 0.9)
    assert pooled.n_curves == 11


def test_a_cancer_type_the_generative_model_never_saw_is_refused(models):
    predictor, generative = models
    with pytest.raises(UntrainedTypeError):
        prognosis_case(predictor, generative, TumourObservation(cancer_type="PAAD", age=60.0))
