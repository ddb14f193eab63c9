"""Hallmark profiles from measured z-scores and from samples, ranked against the TCGA cohort."""

from __future__ import annotations

import gzip

import numpy as np

from inference.expression.reference import references
from inference.hallmarks.gene_sets import hallmark_membership
from inference.hallmarks.profile import (
    MIN_COVERAGE,
    capability_scores,
    profile_from_expression,
    profile_from_samples,
)
from tests.paths import REPO_ROOT

LUAD = sorted(references().cohorts["luad"].zscore_genes)


def _demo_case(case_id: str) -> dict[str, float]:
    """A real TCGA case's z-scores from the shipped demo file (clipped as the importer does)."""
    values: dict[str, float] = {}
    with gzip.open(REPO_ROOT / "demo" / "demo_expression.csv.gz", "rt") as handle:
        next(handle)
        for line in handle:
            case, gene, z = line.rstrip("\n").split(",")
            if case == case_id:
                values[gene] = max(-10.0, min(10.0, float(z)))
    return values


def test_a_real_tcga_case_gets_percentiles_for_every_covered_set() -> None:
    z = _demo_case("TCGA-55-8207")  # LUAD
    profile = profile_from_expression(z, "luad")
    assert profile.source == "measured" and profile.reference_label == "TCGA-LUAD"
    assert profile.genes_measured == len(z) == profile.genes_reference
    ranked = [s for s in profile.gene_sets if s.percentile is not None]
    assert len(ranked) >= 45
    assert all(0.0 <= s.percentile <= 100.0 for s in ranked if s.percentile is not None)
    # A real tumour is not at one extreme for every programme.
    spread = [s.percentile for s in ranked if s.percentile is not None]
    assert min(spread) < 40 and max(spread) > 60


def test_percentiles_rise_with_the_score() -> None:
    low = profile_from_expression(dict.fromkeys(LUAD, -1.0), "luad")
    high = profile_from_expression(dict.fromkeys(LUAD, 1.0), "luad")
    for a, b in zip(low.gene_sets, high.gene_sets, strict=True):
        if a.percentile is not None and b.percentile is not None:
            assert a.percentile < b.percentile, a.key


def test_a_set_measured_below_the_coverage_threshold_is_scored_but_not_ranked() -> None:
    full = profile_from_expression(dict.fromkeys(LUAD, 0.0), "luad")
    hypoxia = next(s for s in full.gene_sets if s.key == "HALLMARK_HYPOXIA")
    members = hallmark_membership(LUAD, min_members=1)
    columns = members.columns[members.names.index("HALLMARK_HYPOXIA")]
    keep = {LUAD[i] for i in columns[: int(len(columns) * MIN_COVERAGE) - 1]}
    partial = profile_from_expression({g: 0.0 for g in LUAD if g in keep}, "luad")
    row = next(s for s in partial.gene_sets if s.key == "HALLMARK_HYPOXIA")
    assert hypoxia.percentile is not None and row.score == 0.0
    assert row.percentile is None and "not ranked" in row.note


def test_an_imputed_profile_has_intervals_that_contain_its_mean() -> None:
    rng = np.random.default_rng(0)
    samples = rng.normal(0.0, 1.0, size=(64, len(LUAD)))
    profile = profile_from_samples(LUAD, samples, "luad", level=0.8, model_version="test-1")
    assert profile.source == "imputed" and profile.interval_level == 0.8
    for row in [*profile.gene_sets, *(c.programme for c in profile.capabilities)]:
        if row.score is None:
            continue
        assert row.lower is not None and row.upper is not None
        assert row.lower <= row.score <= row.upper
        if row.percentile is not None:
            assert row.percentile_lower is not None and row.percentile_upper is not None
            assert row.percentile_lower <= row.percentile <= row.percentile_upper


def test_identical_samples_give_the_measured_profile() -> None:
    z = _demo_case("TCGA-55-8207")
    genes = list(z)
    samples = np.tile(np.array([z[g] for g in genes]), (5, 1))
    imputed = profile_from_samples(genes, samples, "luad", model_version="test-1")
    measured = profile_from_expression(z, "luad")
    for a, b in zip(imputed.gene_sets, measured.gene_sets, strict=True):
        assert (a.score is None) == (b.score is None)
        if a.score is not None and b.score is not None:
            assert abs(a.score - b.score) < 1e-9 and a.lower == a.upper


def test_capability_scores_follow_the_directions() -> None:
    members = hallmark_membership(LUAD, min_members=1)
    scores = np.zeros((1, len(members.names)))
    scores[0, members.names.index("HALLMARK_P53_PATHWAY")] = 1.0
    caps = capability_scores(scores, members)
    # Evading growth suppressors: E2F (+), G2M (+), P53 (-): mean of 0, 0, -1.
    assert np.isclose(caps[0, 1], -1.0 / 3.0)


def test_set_labels_keep_gene_and_pathway_acronyms() -> None:
    from inference.hallmarks.profile import set_label

    assert set_label("HALLMARK_TNFA_SIGNALING_VIA_NFKB") == "TNFA signaling via NFKB"
    assert set_label("HALLMARK_KRAS_SIGNALING_DN") == "KRAS signaling down"
    assert set_label("HALLMARK_EPITHELIAL_MESENCHYMAL_TRANSITION") == (
        "Epithelial mesenchymal transition"
    )
