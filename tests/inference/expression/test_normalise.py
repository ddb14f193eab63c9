"""Normalising one tumour's values onto its TCGA reference cohort: arithmetic and refusals."""

from __future__ import annotations

import math

import pytest

from inference.expression.normalise import (
    NormalisationRefused,
    Scale,
    Unit,
    check_unit,
    normalise,
)
from inference.expression.reference import cohort_for, references

BLCA = references().cohorts["blca"]
LUAD = references().cohorts["luad"]


def test_oncotree_codes_route_to_their_tcga_cohort_and_unknown_ones_say_why() -> None:
    assert cohort_for("IDC").cohort is not None and cohort_for("IDC").cohort.key == "brca"  # type: ignore[union-attr]
    assert cohort_for("read").cohort.key == "coadread"  # type: ignore[union-attr]
    assert "blank" in cohort_for("").reason
    assert "UEC" in cohort_for("UEC").reason  # TCGA-UCEC has no RNA in the tables


def test_only_three_cohorts_have_a_tpm_reference() -> None:
    with_tpm = {key for key, c in references().cohorts.items() if c.log2tpm is not None}
    assert with_tpm == {"blca", "coadread", "stad"}
    assert BLCA.log2tpm is not None and BLCA.log2tpm.agreement["median_gene_pearson_r"] > 0.5


def test_z_scores_are_clipped_and_unmatched_genes_listed() -> None:
    values = {"EGFR": 12.0, "KRAS": -0.5, "NOT_A_GENE": 1.0}
    result = normalise(values, unit=Unit.ZSCORE, scale=Scale.TCGA_COHORT, cohort=LUAD)
    assert result.z == {"EGFR": 10.0, "KRAS": -0.5}
    assert result.genes_unmatched == ("NOT_A_GENE",) and result.clipped == 1
    assert result.basis == "zscore" and not result.approximate


def test_tpm_one_sd_above_the_reference_mean_is_z_one() -> None:
    assert BLCA.log2tpm is not None
    gene = sorted(BLCA.log2tpm.mean)[10]
    mean, sd = BLCA.log2tpm.mean[gene], BLCA.log2tpm.sd[gene]
    result = normalise(
        {gene: 2.0 ** (mean + sd) - 0.001}, unit=Unit.TPM, scale=Scale.LINEAR, cohort=BLCA
    )
    assert math.isclose(result.z[gene], 1.0, abs_tol=1e-9)
    assert result.basis == "log2tpm"


@pytest.mark.parametrize(
    ("values", "unit", "scale", "message"),
    [
        ({f"G{i}": 50.0 + i for i in range(30)}, Unit.ZSCORE, Scale.TCGA_COHORT, "look like TPM"),
        ({"A": -1.0, "B": 3.0}, Unit.TPM, Scale.LINEAR, "cannot be negative"),
        ({f"G{i}": 1.0 + i % 9 for i in range(150)}, Unit.TPM, Scale.LINEAR, "log-transformed"),
        ({"A": 200.0}, Unit.FPKM, Scale.LOG2_PLUS_1, "too high for a log2 scale"),
        ({}, Unit.TPM, Scale.LINEAR, "no expression values"),
    ],
)
def test_values_that_contradict_their_unit_are_refused(
    values: dict[str, float], unit: Unit, scale: Scale, message: str
) -> None:
    with pytest.raises(NormalisationRefused, match=message):
        check_unit(values, unit, scale)


@pytest.mark.parametrize(
    ("values", "unit", "scale", "cohort", "message"),
    [
        ({"EGFR": 3.0}, Unit.TPM, Scale.LINEAR, "luad", "Upload z-scores against the TCGA-LUAD"),
        ({"EGFR": 0.3}, Unit.ZSCORE, Scale.LINEAR, "luad", "Only z-scores against the TCGA cohort"),
        ({"EGFR": 300.0}, Unit.COUNTS, Scale.LINEAR, "blca", "whole transcriptome"),
        ({"XYZ1": 0.2}, Unit.ZSCORE, Scale.TCGA_COHORT, "luad", "None of the file's 1 genes"),
    ],
    ids=["tpm-without-tpm-reference", "z-against-another-cohort", "panel-counts", "no-gene"],
)
def test_values_the_reference_cannot_place_are_refused(
    values: dict[str, float], unit: Unit, scale: Scale, cohort: str, message: str
) -> None:
    with pytest.raises(NormalisationRefused, match=message):
        normalise(values, unit=unit, scale=scale, cohort=references().cohorts[cohort])
