"""The trial-matches section of the case report, from the stored match result only."""

from __future__ import annotations

from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection
from oncology_ui.trials.models import TrialMatchResult
from oncology_ui.trials.status import status_label


def trials_report_source(case: Case, deidentified: bool) -> OptionalSection:
    """The report's "Trial matches": the top five stored matches with their counts."""
    result = (
        TrialMatchResult.objects.filter(case=case, matches__isnull=False)
        .order_by("-created_at", "-id")
        .first()
    )
    if result is None or not result.matches:
        return OptionalSection(
            title="Trial matches",
            unavailable="Not available: trial matching has not been run for this case "
            "(Clinical trials section, “Find trials”).",
        )
    lines = [
        f"{i}. {m['nct_id']} {m['title'][:90]} ({m['phase'] or 'phase n/a'}, "
        f"{status_label(m['status'])}): {m['n_satisfied']} met, {m['n_failed']} not met, "
        f"{m['n_unknown']} unknown{' – excluded' if m['excluded'] else ''}"
        for i, m in enumerate(result.matches[:5], start=1)
    ]
    lines.append(
        f"Matched {result.created_at:%Y-%m-%d} on facts as of {result.facts_as_of}; engine "
        f"{result.engine_version}, retrieval {result.retrieval_mode}. Missing facts: "
        + (", ".join(result.facts_missing) or "none")
        + "."
    )
    return OptionalSection(title="Trial matches", lines=tuple(lines))
