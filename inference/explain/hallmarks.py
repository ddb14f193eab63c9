"""The hallmarks lens: score a profile on the hallmarks of cancer and pool attributions by hallmark.

Membership comes from the checkpoint (MSigDB hallmark gene sets as composed in SurvPath's
``hallmarks_comps.csv``, restricted to the model's genes). A gene in several hallmarks counts in
each, so hallmark attributions overlap and do not sum to the genomic total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from inference.schema import FeatureAttribution, HallmarkScore

GENOMIC = ("mutations", "copy_number", "expression")


def gene_attributions(attributions: Sequence[FeatureAttribution]) -> dict[str, float]:
    """Sum genomic attributions per gene (mutation + copy number + expression).

    Args:
        attributions: feature attributions of any modality.

    Returns:
        gene -> summed attribution.
    """
    by_gene: dict[str, float] = {}
    for item in attributions:
        if item.modality in GENOMIC:
            by_gene[item.feature] = by_gene.get(item.feature, 0.0) + item.attribution
    return by_gene


def hallmark_lens(
    membership: Mapping[str, Sequence[str]],
    expression: Mapping[str, float | None],
    by_gene: Mapping[str, float],
) -> tuple[HallmarkScore, ...]:
    """Hallmark scores and attributions, strongest attribution first.

    Args:
        membership: hallmark -> genes.
        expression: the patient's expression z-scores (against the training cohort) by gene.
        by_gene: gene -> summed genomic attribution (see :func:`gene_attributions`).

    Returns:
        One score per hallmark.
    """
    scores = []
    for hallmark, genes in membership.items():
        measured = [
            float(v)
            for g in genes
            if (v := expression.get(g)) is not None and math.isfinite(float(v))
        ]
        scores.append(
            HallmarkScore(
                hallmark=hallmark,
                score=sum(measured) / len(measured) if measured else None,
                genes_measured=len(measured),
                attribution=sum(by_gene.get(g, 0.0) for g in genes),
            )
        )
    return tuple(sorted(scores, key=lambda s: -abs(s.attribution)))
