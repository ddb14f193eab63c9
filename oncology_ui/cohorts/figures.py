"""The cohort comparison as a figure: what is drawn for which group, and what is withheld."""

from __future__ import annotations

from reportlab.graphics.shapes import Drawing

from oncology_ui.cohorts.charts import StepCurve, survival_figure
from oncology_ui.cohorts.selectors import AT_RISK_MONTHS, CohortComparison, CohortSurvival


def _curve(group: CohortSurvival) -> StepCurve:
    band = group.band
    assert band is not None  # a shown group always has its band
    return StepCurve(
        label=f"{group.label}: {group.description}",
        times=band.times.tolist(),
        survival=band.survival.tolist(),
        lower=band.lower.tolist(),
        upper=band.upper.tolist(),
        censored=[t for t, died in zip(group.times_months, group.died, strict=True) if not died],
        style=0 if group.label == "A" else 1,
    )


def comparison_figure(comparison: CohortComparison) -> Drawing:
    """Kaplan-Meier of the shown groups with the at-risk table; a withheld group is named with
    the reason, never drawn."""
    groups = [g for g in (comparison.first, comparison.second) if g is not None]
    shown = [g for g in groups if g.shown]
    notes = [f"{g.label}: {g.suppressed}" for g in groups if not g.shown]
    if comparison.logrank is not None:
        notes.append(
            f"Log-rank chi-square {comparison.logrank.chi_square:.2f} (1 df), "
            f"p = {comparison.logrank.p_value:.3g}"
        )
    return survival_figure(
        [_curve(g) for g in shown],
        at_risk=[(g.label, g.at_risk) for g in shown],
        at_risk_months=AT_RISK_MONTHS,
        notes=notes,
    )
