"""The trial-matches section of the case report, from the stored match result only."""

from __future__ import annotations

from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection
from oncology_ui.trials.models import TrialMatchResult
from oncology_ui.trials.status import OPEN_STATUSES, status_label


def trials_report_source(case: Case, deidentified: bool) -> OptionalSection:
    """The report's "Trial matches": the top five open stored matches with their counts."""
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
    # The same default as the case page: recruiting or not yet recruiting trials only, since a
    # closed trial cannot take the patient; the closed ones are counted, and shown for
    # reference only when no open trial is ranked at all.
    open_matches = [m for m in result.matches if m["status"] in OPEN_STATUSES]
    closed = len(result.matches) - len(open_matches)
    if open_matches:
        lines = [_match_line(i, m) for i, m in enumerate(open_matches[:5], start=1)]
        if closed:
            lines.append(
                f"Recruiting or not yet recruiting trials only, as on the case page; {closed} "
                "closed or completed trial(s) of the ranking are left out."
            )
    else:
        lines = [
            f"No recruiting or not yet recruiting trial is among the {closed} ranked; the "
            "best-ranked closed trials, for reference only (they cannot enrol the patient):",
            *(_match_line(i, m) for i, m in enumerate(result.matches[:3], start=1)),
        ]
    lines.append(
        f"Matched {result.created_at:%Y-%m-%d} on facts as of {result.facts_as_of}; engine "
        f"{result.engine_version}, retrieval {result.retrieval_mode}. Missing facts: "
        + (", ".join(result.facts_missing) or "none")
        + "."
    )
    return OptionalSection(title="Trial matches", lines=tuple(lines))


def _match_line(rank: int, m: dict[str, object]) -> str:
    return (
        f"{rank}. {m['nct_id']} {str(m['title'])[:90]} ({m['phase'] or 'phase n/a'}, "
        f"{status_label(str(m['status']))}): {m['n_satisfied']} met, {m['n_failed']} not met, "
        f"{m['n_unknown']} unknown{' – excluded' if m['excluded'] else ''}"
    )
