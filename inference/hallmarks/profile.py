"""A tumour's hallmark profile: programme scores per MSigDB set and per capability, ranked
against the same cancer type's TCGA cohort.

The profile is the boundary the app shows and prints. It comes from measured expression
(:func:`profile_from_expression`, ``source="measured"``) or from a generative model's samples
(:func:`profile_from_samples`, ``source="imputed"``, with an interval per score); the page and the
PDF read the same dataclass either way.

Percentiles use ``reference_percentiles.json.gz`` (built by
``python -m inference.training.expression_reference``): score quantiles of the cohort's
training cases (first PORPOISE fold), computed on the cohort's reference gene list, separately
for the z-score table and (BLCA, COADREAD, STAD) the TPM table. A score is ranked only where the
case measured at least ``MIN_COVERAGE`` of the set's reference genes; a mean over a few genes
varies more than the cohort's, so its percentile would overstate how unusual it is.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from inference.expression.reference import references
from inference.hallmarks.capabilities import Capability, capability_map
from inference.hallmarks.gene_sets import (
    HallmarkMembership,
    hallmark_membership,
    hallmark_scores,
    hallmark_sets,
)

PERCENTILES_FILE = Path(__file__).with_name("reference_percentiles.json.gz")
MIN_COVERAGE = 0.8

Source = Literal["measured", "imputed"]
#: The scale the z-scores are on: "zscore" (the cohort's z-score table, PORPOISE) or "log2tpm"
#: (z of log2(TPM + 0.001) against the cohort's Xena TPM table); each has its own percentiles.
Basis = Literal["zscore", "log2tpm"]


@dataclass(frozen=True)
class ProgrammeScore:
    """One MSigDB set or one capability for this tumour.

    Attributes:
        key: set name (``HALLMARK_HYPOXIA``) or capability key.
        label: readable name.
        score: mean member z-score (set) or signed mean of set scores (capability); None when
            too few members were measured.
        percentile: 0-100 within the reference cohort; None when not comparable (see ``note``).
        lower, upper: interval of ``score`` (imputed profiles only).
        percentile_lower, percentile_upper: the interval's ends as percentiles.
        genes_measured: members with a value for this tumour (sets; for a capability, the sum).
        genes_reference: members in the reference cohort's gene list.
        note: why a score or percentile is missing, or what limits it.
    """

    key: str
    label: str
    score: float | None
    percentile: float | None
    genes_measured: int
    genes_reference: int
    lower: float | None = None
    upper: float | None = None
    percentile_lower: float | None = None
    percentile_upper: float | None = None
    note: str = ""


@dataclass(frozen=True)
class CapabilityScore:
    programme: ProgrammeScore
    kind: str
    gene_sets: tuple[tuple[str, int], ...]  # (set, direction)
    related_sets: tuple[str, ...]
    rationale: str
    sources: tuple[str, ...]

    @property
    def sets_text(self) -> str:
        """The mapped sets with their direction, or what is related when none fits."""
        if self.gene_sets:
            return ", ".join(
                f"{set_label(name)} ({'+' if d > 0 else '−'})" for name, d in self.gene_sets
            )
        related = ", ".join(set_label(name) for name in self.related_sets)
        return "no fitting set: not scored" + (f" (related: {related})" if related else "")


@dataclass(frozen=True)
class HallmarkProfile:
    """The profile shown on the case page and printed in the report.

    Attributes:
        source: "measured" (from imported expression) or "imputed" (from a generative model).
        cohort: reference cohort key (``brca``); reference_label names it (``TCGA-BRCA``).
        reference_cases: training cases the percentiles come from.
        genes_measured: genes with a value that the reference cohort also lists.
        genes_reference: genes in the reference cohort's list.
        interval_level: nominal level of lower/upper (imputed only), e.g. 0.8.
        model_version: the generative model's version (imputed only).
    """

    source: Source
    cohort: str
    reference_label: str
    reference_cases: int
    reference_basis: str
    genes_measured: int
    genes_reference: int
    gene_sets: tuple[ProgrammeScore, ...]
    capabilities: tuple[CapabilityScore, ...]
    gene_set_source: str
    gene_set_licence: str
    interval_level: float | None = None
    model_version: str = ""


@dataclass(frozen=True)
class _CohortQuantiles:
    cases: int
    basis: str
    sets: Mapping[str, np.ndarray]
    capabilities: Mapping[str, np.ndarray]
    set_genes: Mapping[str, int]


@cache
def _quantiles() -> dict[tuple[str, str], _CohortQuantiles]:
    raw = json.loads(gzip.decompress(PERCENTILES_FILE.read_bytes()).decode("utf-8"))
    return {
        (key, basis): _CohortQuantiles(
            cases=int(item["cases"]),
            basis=raw["basis"],
            sets={k: np.asarray(v, dtype=float) for k, v in item["sets"].items()},
            capabilities={k: np.asarray(v, dtype=float) for k, v in item["capabilities"].items()},
            set_genes=item["set_genes"],
        )
        for key, bases in raw["cohorts"].items()
        for basis, item in bases.items()
    }


def capability_scores(set_scores: np.ndarray, membership: HallmarkMembership) -> np.ndarray:
    """Capability scores from set scores: signed mean of the mapped sets that have a score.

    Args:
        set_scores: shape (..., sets) in ``membership.names`` order.
        membership: the sets' membership.

    Returns:
        shape (..., scored capabilities) in :func:`capability_map` order; NaN where none of a
        capability's sets has a score.
    """
    column = {name: j for j, name in enumerate(membership.names)}
    scored = [c for c in capability_map().capabilities if c.scored]
    out = np.full((*set_scores.shape[:-1], len(scored)), np.nan)
    for k, cap in enumerate(scored):
        parts = [
            m.direction * set_scores[..., column[m.name]] for m in cap.gene_sets if m.name in column
        ]
        if parts:
            stacked = np.stack(parts, axis=-1)
            count = (~np.isnan(stacked)).sum(axis=-1)
            total = np.nansum(stacked, axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[..., k] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def percentile(value: float, quantiles: np.ndarray) -> float:
    """Where ``value`` falls among 101 cohort quantiles (0-100), interpolated."""
    return float(np.interp(value, quantiles, np.linspace(0.0, 100.0, len(quantiles))))


_ACRONYMS = {
    "AKT", "DNA", "E2F", "G2M", "IL2", "IL6", "JAK", "KRAS", "MTOR", "MTORC1", "MYC", "NFKB",
    "NOTCH", "P53", "PI3K", "STAT3", "STAT5", "TGF", "TNFA", "UV", "V1", "V2", "WNT",
}  # fmt: skip
_WORDS = {"DN": "down", "UP": "up"}


def set_label(set_name: str) -> str:
    """``HALLMARK_TNFA_SIGNALING_VIA_NFKB`` -> ``TNFA signaling via NFKB``."""
    words = set_name.removeprefix("HALLMARK_").split("_")
    out = [w if w in _ACRONYMS else _WORDS.get(w, w.lower()) for w in words]
    text = " ".join(out)
    return text[0].upper() + text[1:] if text else text


def _summarise(
    key: str,
    label: str,
    column: np.ndarray | None,
    q: np.ndarray | None,
    counts: tuple[int, int],
    *,
    comparable: bool,
    note: str,
    alpha: float | None,
) -> ProgrammeScore:
    """Mean (and for samples the interval) of one score column, ranked when comparable."""
    n_measured, n_reference = counts
    if column is None or np.all(np.isnan(column)):
        return ProgrammeScore(key, label, None, None, n_measured, n_reference, note=note)
    mean = float(np.nanmean(column))
    lower = upper = None
    if alpha is not None:
        lower, upper = (float(v) for v in np.nanquantile(column, [alpha, 1 - alpha]))
    if not comparable or q is None:
        return ProgrammeScore(
            key, label, mean, None, n_measured, n_reference, lower, upper, note=note
        )
    return ProgrammeScore(
        key,
        label,
        mean,
        percentile(mean, q),
        n_measured,
        n_reference,
        lower,
        upper,
        percentile(lower, q) if lower is not None else None,
        percentile(upper, q) if upper is not None else None,
        note,
    )


def _build(
    source: Source,
    cohort: str,
    genes: Sequence[str],
    samples: np.ndarray,
    *,
    basis: Basis,
    level: float | None,
    model_version: str,
) -> HallmarkProfile:
    """Score ``samples`` (S, genes) and summarise: the mean, and for S > 1 the interval."""
    reference = references().cohorts[cohort]
    quantiles = _quantiles()[(cohort, basis)]
    listed = reference_genes(cohort, basis)
    in_reference = [i for i, g in enumerate(genes) if g.upper() in listed]
    names = [genes[i].upper() for i in in_reference]
    values = samples[:, in_reference]
    membership = hallmark_membership(names, min_members=1)
    set_scores = hallmark_scores(values, membership)  # (S, sets)
    measured = {n: len(cols) for n, cols in zip(membership.names, membership.columns, strict=True)}
    alpha = (1.0 - level) / 2 if level is not None else None

    set_rows: dict[str, ProgrammeScore] = {}
    comparable_sets: set[str] = set()
    for name in hallmark_sets().names:
        n_ref = int(quantiles.set_genes.get(name, 0))
        n_measured = measured.get(name, 0)
        column = set_scores[:, membership.names.index(name)] if name in membership.names else None
        note = ""
        if n_ref == 0:
            note = f"none of its genes is in the {reference.label} reference"
        elif n_measured < min(5, n_ref):
            column, note = None, f"{n_measured} of {n_ref} reference genes measured: too few"
        elif n_measured < MIN_COVERAGE * n_ref:
            note = (
                f"{n_measured} of {n_ref} reference genes measured: not ranked against the "
                "cohort (a mean of fewer genes varies more)"
            )
        else:
            comparable_sets.add(name)
        set_rows[name] = _summarise(
            name,
            set_label(name),
            column,
            quantiles.sets.get(name),
            (n_measured, n_ref),
            comparable=name in comparable_sets,
            note=note,
            alpha=alpha,
        )
    kept = [n for n in membership.names if set_rows[n].score is not None]
    kept_membership = HallmarkMembership(
        tuple(kept),
        tuple(membership.columns[membership.names.index(n)] for n in kept),
        tuple(membership.set_sizes[membership.names.index(n)] for n in kept),
    )
    kept_scores = set_scores[:, [membership.names.index(n) for n in kept]]
    cap_scores = capability_scores(kept_scores, kept_membership)  # (S, scored capabilities)
    capabilities: list[CapabilityScore] = []
    scored_index = 0
    for cap in capability_map().capabilities:
        capabilities.append(
            _capability(
                cap,
                set_rows,
                comparable_sets,
                cap_scores[:, scored_index] if cap.scored else None,
                quantiles,
                alpha,
            )
        )
        scored_index += int(cap.scored)
    return HallmarkProfile(
        source=source,
        cohort=cohort,
        reference_label=reference.label,
        reference_cases=quantiles.cases,
        reference_basis=quantiles.basis,
        genes_measured=len(in_reference),
        genes_reference=len(listed),
        gene_sets=tuple(set_rows[n] for n in hallmark_sets().names),
        capabilities=tuple(capabilities),
        gene_set_source=hallmark_sets().source,
        gene_set_licence=hallmark_sets().licence,
        interval_level=level,
        model_version=model_version,
    )


def _capability(
    cap: Capability,
    set_rows: Mapping[str, ProgrammeScore],
    comparable_sets: set[str],
    column: np.ndarray | None,
    quantiles: _CohortQuantiles,
    alpha: float | None,
) -> CapabilityScore:
    mapped = tuple((m.name, m.direction) for m in cap.gene_sets)
    rows = [set_rows[name] for name, _ in mapped]
    n_measured = sum(r.genes_measured for r in rows)
    n_reference = sum(r.genes_reference for r in rows)
    if not cap.scored:
        programme = ProgrammeScore(
            cap.key, cap.name, None, None, 0, 0, note="no MSigDB hallmark set fits; not scored"
        )
    else:
        comparable = all(name in comparable_sets for name, _ in mapped)
        note = "" if comparable else "not ranked: one of its sets is not comparable"
        programme = _summarise(
            cap.key,
            cap.name,
            column,
            quantiles.capabilities.get(cap.key),
            (n_measured, n_reference),
            comparable=comparable,
            note=note,
            alpha=alpha,
        )
    return CapabilityScore(
        programme=programme,
        kind=cap.kind,
        gene_sets=mapped,
        related_sets=cap.related_sets,
        rationale=cap.rationale,
        sources=cap.sources,
    )


def reference_genes(cohort: str, basis: Basis) -> frozenset[str]:
    """The genes a cohort's percentiles were computed on, for one basis."""
    reference = references().cohorts[cohort]
    if basis == "log2tpm":
        if reference.log2tpm is None:
            raise ValueError(f"{reference.label} has no TPM reference")
        return frozenset(reference.log2tpm.mean)
    return reference.zscore_genes


def profile_from_expression(
    z: Mapping[str, float], cohort: str, *, basis: Basis = "zscore"
) -> HallmarkProfile:
    """The measured profile from normalised z-scores (gene -> z against ``cohort``).

    Args:
        z: z-scores by HGNC symbol (see :mod:`inference.expression.normalise`).
        cohort: reference cohort key (``references().cohorts``).
        basis: which reference the z-scores are against (``NormalisedExpression.basis``).
    """
    genes = list(z)
    values = np.asarray([[float(z[g]) for g in genes]], dtype=float)
    return _build("measured", cohort, genes, values, basis=basis, level=None, model_version="")


def profile_from_samples(
    genes: Sequence[str],
    samples: np.ndarray,
    cohort: str,
    *,
    level: float = 0.8,
    model_version: str,
) -> HallmarkProfile:
    """An imputed profile from a generative model's expression samples.

    Args:
        genes: gene symbols of the samples' last axis.
        samples: z-scores, shape (n_samples, genes); measured genes repeat in every sample.
        cohort: reference cohort key.
        level: interval level (0.8: the 10th to 90th percentile of the samples' scores).
        model_version: shown beside the profile.
    """
    return _build(
        "imputed",
        cohort,
        list(genes),
        np.asarray(samples, dtype=float),
        basis="zscore",
        level=level,
        model_version=model_version,
    )
