"""One tumour's gene-level expression onto the z-score scale of its TCGA reference cohort.

1. z-scores (``unit="zscore"``) must already be against the TCGA cohort of the case's cancer
   type (cBioPortal's "mRNA expression z-scores relative to all samples"); they are clipped to
   [-10, 10] like the reference.
2. TPM, FPKM and counts need the cohort's log2(TPM + 0.001) table (BLCA, COADREAD, STAD):
   values are brought to linear scale, FPKM rescaled to TPM (sum 10^6) and counts to counts per
   million (no gene-length correction, so an approximation the profile names), then
   z = (log2(TPM + 0.001) - mean) / SD of the reference, clipped.
3. Anything else is refused with what to upload instead; nothing is guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from inference.expression.reference import ReferenceCohort, references

#: FPKM and counts are scaled by their sum, which is only meaningful over the whole transcriptome.
MIN_GENES_FOR_RESCALING = 10_000
PSEUDOCOUNT = 0.001


class Unit(StrEnum):
    TPM = "tpm"
    FPKM = "fpkm"
    COUNTS = "counts"
    ZSCORE = "zscore"

    @property
    def label(self) -> str:
        return UNIT_LABELS[self]


UNIT_LABELS = {
    Unit.TPM: "TPM",
    Unit.FPKM: "FPKM",
    Unit.COUNTS: "Read counts",
    Unit.ZSCORE: "z-scores",
}


class Scale(StrEnum):
    LINEAR = "linear"
    LOG2_PLUS_1 = "log2p1"  # log2(x + 1)
    LOG2_XENA = "log2_0.001"  # log2(x + 0.001), UCSC Xena's TPM tables
    TCGA_COHORT = "tcga"  # z-scores against the TCGA cohort of the cancer type


SCALE_LABELS = {
    Scale.LINEAR: "linear (as reported)",
    Scale.LOG2_PLUS_1: "log2(value + 1)",
    Scale.LOG2_XENA: "log2(value + 0.001), as UCSC Xena",
    Scale.TCGA_COHORT: "z-scores against the TCGA cohort of this cancer type",
}


class NormalisationRefused(ValueError):
    """The values cannot be put on the reference scale; the message says what to upload."""


@dataclass(frozen=True)
class NormalisedExpression:
    """z-scores against the reference cohort, for the genes the reference lists.

    Attributes:
        basis: "zscore" (the cohort's z-score table) or "log2tpm" (its TPM table).
        z: gene -> z-score, clipped to [-clip, clip].
        genes_unmatched: genes in the file that the reference does not list (sorted).
        clipped: values beyond the clip.
        method: how the values were transformed, in words.
        approximate: the transformation is an approximation (counts without gene lengths).
    """

    cohort: str
    reference_label: str
    basis: str
    z: Mapping[str, float]
    genes_unmatched: tuple[str, ...]
    clipped: int
    method: str
    approximate: bool


def _linear(value: float, scale: Scale) -> float:
    if scale == Scale.LOG2_PLUS_1:
        return 2.0**value - 1.0
    if scale == Scale.LOG2_XENA:
        return 2.0**value - PSEUDOCOUNT
    return value


def check_unit(values: Mapping[str, float], unit: Unit, scale: Scale) -> None:
    """Refuse values that contradict the unit named (the usual mix-ups, not every one).

    Raises:
        NormalisationRefused: z-scores that look like abundances, linear values that look
            logged or the reverse, negative abundances.
    """
    numbers = sorted(values.values())
    if not numbers:
        raise NormalisationRefused("The file has no expression values.")
    low, high, median = numbers[0], numbers[-1], numbers[len(numbers) // 2]
    if unit == Unit.ZSCORE:
        if len(numbers) >= 20 and low >= 0 and median > 1:
            raise NormalisationRefused(
                f"The values are all 0 or more (median {median:g}): they look like TPM, FPKM or "
                "counts, not z-scores. Choose the unit the file is in."
            )
        return
    if scale != Scale.LOG2_XENA and low < 0:
        raise NormalisationRefused(
            f"{unit.label} cannot be negative (lowest value {low:g}). If these are z-scores or "
            "log values, choose that unit or scale."
        )
    if scale == Scale.LINEAR and len(numbers) >= 100 and high < 30:
        raise NormalisationRefused(
            f"The highest value is {high:g}: linear {unit.label} of {len(numbers)} genes reach "
            "the hundreds or thousands, so these look log-transformed. Choose the log scale."
        )
    if scale != Scale.LINEAR and high > 60:
        raise NormalisationRefused(
            f"The highest value is {high:g}, too high for a log2 scale: choose 'linear'."
        )


def normalise(
    values: Mapping[str, float], *, unit: Unit, scale: Scale, cohort: ReferenceCohort
) -> NormalisedExpression:
    """Put one tumour's values (HGNC symbol -> value) on the reference z-score scale.

    Raises:
        NormalisationRefused: no reference in this unit for the cohort, wrong scale for the
            unit, too few genes to rescale FPKM or counts, or no gene the reference lists.
    """
    check_unit(values, unit, scale)
    clip = references().clip
    if unit == Unit.ZSCORE:
        if scale != Scale.TCGA_COHORT:
            raise NormalisationRefused(
                "Only z-scores against the TCGA cohort of the same cancer type can be placed on "
                f"the {cohort.label} reference; upload TPM or z-scores against {cohort.label}."
            )
        listed = cohort.zscore_genes
        z_raw = {g: v for g, v in values.items() if g in listed}
        method = f"z-scores against {cohort.label} as uploaded, clipped to ±{clip:g}"
        basis, approximate = "zscore", False
    else:
        tpm_ref = cohort.log2tpm
        if tpm_ref is None:
            covered = ", ".join(
                c.label for c in references().cohorts.values() if c.log2tpm is not None
            )
            raise NormalisationRefused(
                f"No {unit.label} reference ships for {cohort.label} (only {covered}). Upload "
                f"z-scores against the {cohort.label} cohort instead (for example cBioPortal's "
                "'mRNA expression z-scores relative to all samples', unit z-scores)."
            )
        if scale == Scale.TCGA_COHORT:
            raise NormalisationRefused(f"{unit.label} values are not z-scores: choose a scale.")
        linear = {g: max(_linear(v, scale), 0.0) for g, v in values.items()}
        approximate = unit == Unit.COUNTS
        method = f"{unit.label} ({SCALE_LABELS[scale]})"
        if unit in (Unit.FPKM, Unit.COUNTS):
            if len(linear) < MIN_GENES_FOR_RESCALING:
                raise NormalisationRefused(
                    f"{unit.label} are rescaled by their sum over the whole transcriptome, and "
                    f"the file has {len(linear)} genes (at least {MIN_GENES_FOR_RESCALING:,} "
                    "needed). Upload TPM from the laboratory's pipeline, or z-scores against "
                    f"the {cohort.label} cohort."
                )
            total = sum(linear.values())
            if total <= 0:
                raise NormalisationRefused(f"The {unit.label} values sum to zero.")
            linear = {g: v * 1e6 / total for g, v in linear.items()}
            method += (
                " rescaled to counts per million, without gene-length correction (approximate)"
                if approximate
                else " rescaled to TPM (sum 10^6)"
            )
        z_raw = {
            g: (math.log2(v + PSEUDOCOUNT) - tpm_ref.mean[g]) / tpm_ref.sd[g]
            for g, v in linear.items()
            if g in tpm_ref.mean
        }
        method += f", z of log2(TPM + 0.001) against {cohort.label} ({tpm_ref.cases} cases)"
        basis = "log2tpm"
    if not z_raw:
        raise NormalisationRefused(
            f"None of the file's {len(values)} genes is in the {cohort.label} reference "
            "(HGNC symbols are expected)."
        )
    z = {g: max(-clip, min(clip, v)) for g, v in z_raw.items()}
    return NormalisedExpression(
        cohort=cohort.key,
        reference_label=cohort.label,
        basis=basis,
        z=z,
        genes_unmatched=tuple(sorted(set(values) - set(z))),
        clipped=sum(1 for g, v in z_raw.items() if v != z[g]),
        method=method,
        approximate=approximate,
    )
