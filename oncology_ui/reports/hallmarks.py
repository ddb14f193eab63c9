"""The hallmark profile as printed: the case's measured (or, later, imputed) profile, formatted."""

from __future__ import annotations

from inference.hallmarks.profile import HallmarkProfile, ProgrammeScore
from oncology_ui.clinical.expression import measured_hallmarks
from oncology_ui.patients.models import Case
from oncology_ui.reports.data import HallmarkReport, HallmarkRow

RESEARCH_LINE = (
    "Research use only: programme scores are a reading aid, not a validated classifier, and "
    "must not be used as the sole basis for treatment."
)


def _score(item: ProgrammeScore) -> str:
    if item.score is None:
        return "—"
    text = f"{item.score:+.2f}"
    if item.lower is not None and item.upper is not None:
        text += f" ({item.lower:+.2f} to {item.upper:+.2f})"
    return text


def _percentile(item: ProgrammeScore) -> str:
    if item.percentile is None:
        return item.note or "—"
    text = f"{item.percentile:.0f}"
    if item.percentile_lower is not None and item.percentile_upper is not None:
        text += f" ({item.percentile_lower:.0f}–{item.percentile_upper:.0f})"
    return text


def profile_report(profile: HallmarkProfile, basis_line: str) -> HallmarkReport:
    """Format a profile (measured or imputed) for the PDF."""
    origin = (
        f"Imputed by the generative model {profile.model_version}; intervals are "
        f"{profile.interval_level or 0:.0%} of its samples."
        if profile.source == "imputed"
        else basis_line
    )
    lines = (
        RESEARCH_LINE,
        origin,
        f"{profile.genes_measured} of the {profile.genes_reference} genes of the "
        f"{profile.reference_label} reference measured. Score: mean z-score of a set's measured "
        f"genes; percentile among {profile.reference_cases} {profile.reference_label} cases "
        f"({profile.reference_basis}).",
        "Capabilities: Hanahan & Weinberg, Cell 2011 (doi:10.1016/j.cell.2011.02.013) and "
        "Hanahan, Cancer Discov 2022 (doi:10.1158/2159-8290.CD-21-1059), mapped to MSigDB "
        f"hallmark sets (Liberzon et al., Cell Syst 2015; {profile.gene_set_licence.split(' (')[0]}"
        "); those with no fitting set are not scored.",
    )
    capabilities = tuple(
        HallmarkRow(
            label=c.programme.label,
            programmes=c.sets_text,
            score=_score(c.programme),
            percentile=_percentile(c.programme) if c.programme.score is not None else "—",
        )
        for c in profile.capabilities
    )
    # The sets furthest from the cohort's middle, where a percentile exists.
    ranked = sorted(
        (s for s in profile.gene_sets if s.percentile is not None),
        key=lambda s: -abs((s.percentile or 50.0) - 50.0),
    )[:10]
    gene_sets = tuple(
        HallmarkRow(
            label=s.label,
            programmes=f"{s.genes_measured}/{s.genes_reference} genes",
            score=_score(s),
            percentile=_percentile(s),
        )
        for s in ranked
    )
    return HallmarkReport(
        source=profile.source, lines=lines, capabilities=capabilities, gene_sets=gene_sets
    )


def hallmark_report(case: Case, *, deidentified: bool) -> HallmarkReport:
    """The case's hallmark profile for the report, or the plain line that there is none.

    A de-identified report leaves out the uploaded file's name (it may name the patient).
    """
    measured = measured_hallmarks(case)
    if measured is None:
        return HallmarkReport(source="")
    upload = measured.upload
    name = "the imported file" if deidentified else upload.source_name
    basis = f"From measured expression: {name} ({upload.unit}, {upload.scale}), {upload.method}" + (
        " (approximate)." if upload.approximate else "."
    )
    return profile_report(measured.profile, basis)
