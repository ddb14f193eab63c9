"""The generative core: seeded sampling, observed values kept, coverage, refusals, pinned weights.

Uses the shipped checkpoint (trained on the training part of fold 0) and real held-out KIRP rows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.generative.data import MODALITIES, fold_split, load_cohorts
from inference.generative.metrics import interval_coverage
from inference.generative.model import (
    SHIPPED_PATH,
    SHIPPED_SHA256,
    GenerativeModel,
    UntrainedTypeError,
    load_generative,
)
from inference.generative.profile import (
    InSilicoChange,
    TumourObservation,
    covered_types,
    experiment_case,
    profile_case,
)
from inference.runtime import CheckpointError
from tests.paths import SHARED_DATA

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")


@pytest.fixture(scope="module")
def model() -> GenerativeModel:
    return load_generative()


@pytest.fixture(scope="module")
def held_out(model: GenerativeModel) -> dict[str, np.ndarray]:
    """Six KIRP cases of fold 0's held-out part, on the model's feature order."""
    table = load_cohorts(SHARED_DATA, ["kirp"])
    _, test = fold_split(table, "kirp", 0, data_dir=SHARED_DATA)
    return model.arrays_of(table, test[:6])


def test_interval_coverage_counts_truths_inside_the_central_interval():
    # 101 draws 0..100 per entry: the 80% interval is [10, 90].
    samples = np.broadcast_to(np.arange(101.0)[:, None, None], (101, 2, 3)).copy()
    truth = np.array([[10.0, 50.0, 95.0], [-1.0, 90.0, np.nan]])
    assert interval_coverage(samples, truth) == pytest.approx(3 / 5)
    assert interval_coverage(samples, truth, level=0.98) == pytest.approx(4 / 5)
    with pytest.raises(ValueError):
        interval_coverage(samples, truth[:, :2])


@needs_data
def test_sampling_is_seeded_and_reproducible(model, held_out):
    observed = {"clinical": held_out["clinical"], "mutation": held_out["mutation"]}
    types = ["kirp"] * len(held_out["clinical"])
    first = model.impute(observed, types, n_samples=5, seed=7)
    again = model.impute(observed, types, n_samples=5, seed=7)
    other = model.impute(observed, types, n_samples=5, seed=8)
    for m in MODALITIES:
        assert first[m].shape == (5, len(types), model.config.dims[m])
        np.testing.assert_array_equal(first[m], again[m])
    assert not np.allclose(np.nan_to_num(first["rna"]), np.nan_to_num(other["rna"]))
    # asking for one modality draws the same values for it
    only = model.impute(observed, types, n_samples=5, seed=7, only=("rna",))
    np.testing.assert_array_equal(only["rna"], first["rna"])


@needs_data
def test_observed_entries_come_back_unchanged_in_every_sample(model, held_out):
    types = ["PRCC"] * len(held_out["rna"])  # an OncoTree code routes to the KIRP cohort
    rna = held_out["rna"].copy()
    rna[:, ::2] = np.nan  # half the genes measured
    observed = {"clinical": held_out["clinical"], "cnv": held_out["cnv"], "rna": rna}
    samples = model.impute(observed, types, n_samples=4, seed=0)
    measured = ~np.isnan(rna)
    for s in range(4):
        np.testing.assert_array_equal(samples["rna"][s][measured], rna[measured])
        np.testing.assert_array_equal(samples["clinical"][s], held_out["clinical"])
    carried = model.carried["rna"][model.type_index("kirp")]
    assert np.isfinite(samples["rna"][:, ~measured & carried[None]]).all()


@needs_data
def test_profile_marks_measured_and_imputed_with_intervals(model, held_out):
    names = model.names["mutation"]
    mutations = {
        names[j]: bool(v) for j, v in enumerate(held_out["mutation"][0]) if not np.isnan(v)
    }
    case = TumourObservation("PRCC", age=61.0, is_female=False, mutations=mutations)
    profile = profile_case(model, case, n_samples=30, seed=1)
    assert profile.measured == ("clinical", "mutation")
    assert "rna" in profile.imputed and profile.cancer_type == "kirp"
    assert profile.hallmarks and all(h.lower <= h.mean <= h.upper for h in profile.hallmarks)
    assert not any(g.measured for g in profile.genes)
    assert profile_case(model, case, n_samples=30, seed=1) == profile
    assert "non-commercial" in profile.research_use


def test_in_silico_experiments_are_refused_for_an_untrained_cancer_type(model):
    assert "SKCM" not in covered_types(model)
    case = TumourObservation("SKCM", age=60.0, is_female=True, mutations={"BRAF": True})
    with pytest.raises(UntrainedTypeError, match="not trained on cancer type 'SKCM'"):
        experiment_case(model, case, InSilicoChange.acquire("TP53"))
    with pytest.raises(UntrainedTypeError):
        profile_case(model, TumourObservation("", age=60.0))


def test_in_silico_result_is_a_labelled_hypothesis(model):
    case = TumourObservation("LUAD", age=65.0, is_female=True, mutations={"KRAS": False})
    result = experiment_case(model, case, InSilicoChange.acquire("TP53"), n_samples=20)
    assert result.cancer_type == "luad" and "hypothesis" in result.label
    assert result.shifts and all(s.lower <= s.mean <= s.upper for s in result.shifts)
    with pytest.raises(ValueError, match="no mutation feature"):
        experiment_case(model, case, InSilicoChange.acquire("NOT_A_GENE"))


def test_the_shipped_checkpoint_is_pinned_and_a_tampered_copy_is_refused(model, tmp_path: Path):
    assert model.weights_sha256 == SHIPPED_SHA256
    tampered = tmp_path / "generative.pt"
    shutil.copyfile(SHIPPED_PATH, tampered)
    with tampered.open("r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(CheckpointError, match="refusing"):
        load_generative(tampered, expected_sha256=SHIPPED_SHA256)


def test_in_silico_mutation_shift_is_the_penalised_conditional_mean_change(model, held_out):
    from inference.generative.intervention import KEY, PENALTIES, penalised_shift

    penalty = model.calibration[KEY]
    assert penalty in PENALTIES  # chosen on the inner validation rows when calibrating
    types = np.full(6, model.type_index("kirp"))
    column = int(np.flatnonzero(model.carried["mutation"][types[0]])[0])
    gene = model.names["mutation"][column]
    observed = {"clinical": held_out["clinical"], "mutation": held_out["mutation"].copy()}
    observed["mutation"][:, column] = 0.0
    changed = {**observed, "mutation": observed["mutation"].copy()}
    changed["mutation"][:, column] = 1.0
    before, after = model.intervene(
        observed, ["kirp"] * 6, modality="mutation", feature=gene, value=1.0, n_samples=4, seed=0
    )
    expected = penalised_shift(model, observed, changed, types, ["rna"], penalty)["rna"]
    difference = after["rna"] - before["rna"]
    carried = np.isfinite(difference)
    assert carried.any() and np.abs(expected).max() > 0
    np.testing.assert_allclose(
        difference[carried], np.broadcast_to(expected, difference.shape)[carried], atol=1e-4
    )
    # The profile before the change is the plain imputation: the penalty only moves the shift.
    plain = model.impute(observed, ["kirp"] * 6, 4, 0)
    np.testing.assert_allclose(before["rna"], plain["rna"])
