"""The therapy-ranking section of the printed case report, from the stored ranking only."""

from __future__ import annotations

from typing import Any

from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection
from oncology_ui.therapies.selectors import ranking_latest

TITLE = "Therapy ranking"
NOT_RANKED = "Not available: no therapy ranking has been run for this case."


def _benefit(benefit: dict[str, Any]) -> str:
    if not benefit.get("estimable") or benefit.get("overlap_supported") is False:
        return f"benefit not estimated: {benefit.get('reason', '')}"
    difference = benefit.get("difference")
    if benefit.get("trial") and difference:
        months = float(benefit.get("horizon_months") or 0)
        return (
            f"randomised {benefit['trial']} ({benefit.get('contrast', '')}): "
            f"{float(difference[0]):+.0%} at {months:.0f} months (95% band "
            f"{float(difference[1]):+.0%} to {float(difference[2]):+.0%}); "
            f"{benefit.get('agreement', '')}"
        )
    rows = benefit.get("survival_at") or []
    five = next((r for r in rows if isinstance(r, dict) and r.get("years") == 5), None)
    if five and five.get("survival") is not None:
        return f"model 5-year survival {float(five['survival']):.0%} (association, not causal)"
    return "model curve stored (no 5-year value)"


def therapies_report_section(case: Case, deidentified: bool) -> OptionalSection:
    """Lines exactly as the board saw them; a "not available" line when the case is unranked."""
    ranking = ranking_latest(case)
    if ranking is None:
        return OptionalSection(title=TITLE, unavailable=NOT_RANKED)
    result = ranking.result
    lines = [
        f"Knowledge base {ranking.kb_version}; model {ranking.model_version or 'none used'}; "
        f"ranked {result.get('computed_at', '')} for line {result.get('planned_line')}.",
    ]
    for item in result.get("options", []):
        option, safety = item["option"], item["safety"]
        deciding = [c for c in safety["checks"] if c["verdict"] == safety["state"]]
        why = (
            f" ({deciding[0]['reason']}; {deciding[0]['rule_id']})"
            if safety["state"] != "clear" and deciding
            else ""
        )
        cited = ", ".join(
            dict.fromkeys(ref["citation"] for ref in option["supporting"] if ref["citation"])
        )
        lines.append(
            f"{item['rank']}. {option['label']}: tier {option['tier']}"
            + (
                "; investigational (preclinical or case-report evidence only)"
                if option.get("investigational")
                else ""
            )
            + "; safety "
            f"{safety['state']}{why}; {_benefit(item['benefit'])}; "
            f"{len(option['supporting'])} supporting, {len(option['opposing'])} opposing"
            + (f" [{cited[:300]}]" if cited else "")
        )
        for flag in option["resistance"]:
            lines.append(f"   Resistance: {flag}")
    for flag in result.get("resistance_flags", []):
        lines.append(
            f"Resistance flag: {flag['finding']}: {flag['statement']} ({flag['citation']})."
        )
    missing = result.get("inputs_missing", [])
    if missing:
        lines.append("Not recorded: " + "; ".join(missing) + ".")
    for decision in ranking.decisions.select_related("decided_by").order_by("decided_at", "id"):
        who = (
            ""
            if deidentified or decision.decided_by is None
            else f", {decision.decided_by.get_full_name() or decision.decided_by.get_username()}"
        )
        lines.append(
            f"{decision.get_verdict_display()}: {decision.option_label} (#{decision.option_rank}): "
            f"{decision.reason} ({decision.decided_at:%Y-%m-%d}{who})."
        )
    return OptionalSection(title=TITLE, lines=tuple(lines))
