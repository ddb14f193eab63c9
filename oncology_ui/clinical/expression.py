"""Expression imports: check the unit against the case's reference cohort, parse, normalise, store.

The file goes through the clinical importer (:mod:`oncology_ui.clinical.services`): stored under
a server-generated name, imported by the ``clinical_import`` job all-or-nothing, with a report.
This module holds what is particular to expression:

1. :func:`expression_options` refuses, before anything is stored, a unit for which no reference
   of the case's cancer type exists (with what to upload instead).
2. :func:`expression_parse` reads the file (:mod:`oncology_ui.clinical.parsers.expression`) and
   normalises it (:mod:`inference.expression.normalise`); nothing is written.
3. :func:`expression_write` stores the upload's counts and the z-scores as one
   :class:`~oncology_ui.clinical.models.ExpressionProfile` (once per import).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError

from inference.expression.normalise import (
    NormalisationRefused,
    NormalisedExpression,
    Scale,
    Unit,
    normalise,
)
from inference.expression.reference import ReferenceCohort, cohort_for, references
from inference.hallmarks.profile import HallmarkProfile, profile_from_expression
from oncology_ui.clinical.models import ClinicalImport, ExpressionProfile
from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
from oncology_ui.clinical.parsers.expression import parse_expression
from oncology_ui.clinical.parsers.genes import normalise_gene
from oncology_ui.patients.models import Case

UNMATCHED_EXAMPLES = 50


def expression_options(*, case: Case, unit: str, scale: str) -> dict[str, str]:
    """The options stored with an expression upload, once they are known to be usable.

    Raises:
        ValidationError: unknown unit or scale, a case without a reference cohort, or a unit
            with no reference for the case's cancer type (the message says what to upload).
    """
    try:
        unit_value, scale_value = Unit(unit), Scale(scale)
    except ValueError:
        raise ValidationError("Choose the unit and the scale of the values.") from None
    route = cohort_for(case.oncotree_code)
    if route.cohort is None:
        raise ValidationError(f"Expression cannot be normalised: {route.reason}.")
    cohort = route.cohort
    if (unit_value == Unit.ZSCORE) != (scale_value == Scale.TCGA_COHORT):
        raise ValidationError(
            "z-scores go with the scale 'z-scores against the TCGA cohort'; TPM, FPKM and counts "
            "with a linear or log2 scale."
        )
    if unit_value != Unit.ZSCORE and cohort.log2tpm is None:
        covered = ", ".join(c.label for c in references().cohorts.values() if c.log2tpm)
        raise ValidationError(
            f"No {unit_value.label} reference ships for {cohort.label} (only for {covered}), so "
            f"these values cannot be normalised. Upload z-scores against the {cohort.label} "
            "cohort instead (for example cBioPortal's 'mRNA expression z-scores relative to all "
            "samples')."
        )
    return {"unit": unit_value.value, "scale": scale_value.value, "cohort": cohort.key}


def expression_reference_note(case: Case) -> str:
    """What this case's expression can be uploaded as, in one sentence for the upload page."""
    route = cohort_for(case.oncotree_code)
    if route.cohort is None:
        return f"Expression cannot be normalised for this case: {route.reason}."
    label = route.cohort.label
    if route.cohort.log2tpm is None:
        return (
            f"Reference for this case: {label}. Accepted: z-scores against the {label} cohort "
            "(no TPM reference ships for it, so TPM, FPKM and counts are refused)."
        )
    return (
        f"Reference for this case: {label}. Accepted: TPM (any panel), FPKM or counts (whole "
        f"transcriptome, 10,000 genes or more), or z-scores against the {label} cohort."
    )


@dataclass(frozen=True)
class ParsedExpression:
    normalised: NormalisedExpression
    unit: str
    scale: str
    genes_in_file: int


@cache
def _reference_names(cohort: str, basis: str) -> dict[str, str]:
    """Official symbol -> the symbol the reference table uses (it may use an older synonym)."""
    reference = references().cohorts[cohort]
    listed = (
        reference.log2tpm.mean
        if basis == "log2tpm" and reference.log2tpm
        else reference.zscore_genes
    )
    return {normalise_gene(gene) or gene: gene for gene in listed}


def expression_parse(
    record: ClinicalImport, path: Path, limits: Limits
) -> tuple[ParsedExpression, ProblemLog]:
    """Parse and normalise a stored expression file (no database writes).

    Raises:
        ImportRejected: bad rows, or values that cannot be normalised.
    """
    unit, scale = Unit(record.options["unit"]), Scale(record.options["scale"])
    route = cohort_for(record.case.oncotree_code)
    if route.cohort is None:
        raise ImportRejected([Problem("case", f"expression cannot be normalised: {route.reason}")])
    cohort: ReferenceCohort = route.cohort
    with path.open("rb") as handle:
        rows, log = parse_expression(
            handle, limits=limits, allow_negative=unit == Unit.ZSCORE or scale == Scale.LOG2_XENA
        )
    basis = "zscore" if unit == Unit.ZSCORE else "log2tpm"
    names = _reference_names(cohort.key, basis)
    values = {names.get(gene, gene): value for gene, value in rows.values.items()}
    try:
        normalised = normalise(values, unit=unit, scale=scale, cohort=cohort)
    except NormalisationRefused as exc:
        raise ImportRejected([Problem("file", str(exc))]) from None
    if normalised.clipped:
        log.warn(
            "file",
            f"{normalised.clipped} z-score(s) beyond ±{references().clip:g} were clipped, as in "
            "the reference.",
        )
    if normalised.approximate:
        log.warn("file", f"approximate normalisation: {normalised.method}.")
    parsed = ParsedExpression(normalised, unit.value, scale.value, genes_in_file=len(rows.values))
    return parsed, log


def expression_write(*, record: ClinicalImport, parsed: ParsedExpression) -> dict[str, int]:
    """Store the import's expression profile (once: a re-run finds the existing row)."""
    normalised = parsed.normalised
    if ExpressionProfile.objects.filter(source_import=record).exists():
        return {"new": 0, "already_present": 1}
    profile = ExpressionProfile(
        case=record.case,
        source_import=record,
        unit=parsed.unit,
        scale=parsed.scale,
        cohort=normalised.cohort,
        reference_label=normalised.reference_label,
        basis=normalised.basis,
        method=normalised.method[:400],
        approximate=normalised.approximate,
        genes_in_file=parsed.genes_in_file,
        genes_matched=len(normalised.z),
        genes_unmatched=len(normalised.genes_unmatched),
        unmatched_examples=list(normalised.genes_unmatched[:UNMATCHED_EXAMPLES]),
        clipped=normalised.clipped,
        values={gene: round(value, 4) for gene, value in normalised.z.items()},
    )
    profile.full_clean()
    profile.save()
    return {
        "new": 1,
        "genes_matched": profile.genes_matched,
        "genes_unmatched": profile.genes_unmatched,
    }


@dataclass(frozen=True)
class MeasuredHallmarks:
    """The latest measured profile of a case, with the upload it came from."""

    profile: HallmarkProfile
    upload: ExpressionProfile


def measured_hallmarks(case: Case) -> MeasuredHallmarks | None:
    """The hallmark profile from the case's latest imported expression, or None."""
    upload = ExpressionProfile.objects.filter(case=case).select_related("source_import").first()
    if upload is None:
        return None
    profile = profile_from_expression(
        upload.values, upload.cohort, basis="log2tpm" if upload.basis == "log2tpm" else "zscore"
    )
    return MeasuredHallmarks(profile, upload)
