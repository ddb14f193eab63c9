"""The labs section of the case report: latest value per analyte and a small chart of each."""

from __future__ import annotations

from oncology_ui.clinical.models import LabResult
from oncology_ui.clinical.selectors import lab_results
from oncology_ui.patients.models import Case
from oncology_ui.reports.data import ChartPoint, ChartSeries, OptionalSection

TITLE = "Labs chart"
#: Small multiples beyond this many analytes would crowd the page; the lines list them all.
MAX_CHARTS = 12


#: Superscripts the PDF's base fonts lack (² and ³ they have): written as powers instead.
_SUPERSCRIPTS = str.maketrans(
    {"⁰": "^0", "¹": "^1", "⁴": "^4", "⁵": "^5", "⁶": "^6", "⁷": "^7", "⁸": "^8", "⁹": "^9"}
)


def _unit(text: str) -> str:
    return text.translate(_SUPERSCRIPTS)


def _number(value: float) -> str:
    """Three significant figures (converted units carry float noise), whole numbers from 1000."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"reference {_number(low)}–{_number(high)}"
    if low is not None:
        return f"reference ≥ {_number(low)}"
    if high is not None:
        return f"reference ≤ {_number(high)}"
    return "no reference range"


def labs_report_section(case: Case, deidentified: bool) -> OptionalSection:
    """Every stored lab result of the case: one line per analyte, one chart per numeric analyte.

    Dates are calendar dates, or days from diagnosis in the de-identified report.
    """

    def when(result: LabResult) -> str:
        day = result.collected_at.date()
        if deidentified:
            return f"day {(day - case.diagnosis_date).days:+d}"
        return day.isoformat()

    series: dict[str, list[LabResult]] = {}
    for result in lab_results(case).order_by("collected_at", "id"):
        series.setdefault(result.analyte_key or result.loinc or result.name, []).append(result)
    if not series:
        return OptionalSection(
            title=TITLE,
            unavailable="Not available: no laboratory results are stored for this case.",
        )
    total = sum(len(results) for results in series.values())
    ordered = sorted(series.values(), key=lambda results: (results[-1].category, results[-1].name))
    lines = [f"{total} laboratory result{'s' if total != 1 else ''} stored; latest of each:"]
    charts: list[ChartSeries] = []
    for results in ordered:
        latest = results[-1]
        unit = _unit(latest.unit_display)
        shown = (
            f"{latest.comparator}{latest.value_text} {latest.unit_original}"
            if latest.value is None
            else f"{latest.comparator}{_number(latest.value)} {unit}"
        ).strip()
        shown += {"H": " (high)", "L": " (low)"}.get(latest.flag, "")
        converted = latest.unit_original and latest.unit_original != unit
        if latest.value is not None and converted and not latest.is_derived:
            shown += f", reported as {latest.value_text} {latest.unit_original}"
        lines.append(
            f"{latest.name}: {shown}; on {when(latest)}; "
            f"{_range(latest.ref_low, latest.ref_high)}; "
            f"{len(results)} result{'s' if len(results) != 1 else ''}."
        )
        numeric = [(r, r.value) for r in results if r.value is not None]
        if numeric and len(charts) < MAX_CHARTS:
            first = numeric[0][0].collected_at.date()
            charts.append(
                ChartSeries(
                    label=latest.name,
                    unit=unit,
                    points=tuple(
                        ChartPoint(
                            day=(r.collected_at.date() - first).days,
                            when=when(r),
                            value=float(value),
                            flag=r.flag,
                        )
                        for r, value in numeric
                    ),
                    ref_low=latest.ref_low,
                    ref_high=latest.ref_high,
                )
            )
    numeric_analytes = sum(1 for results in ordered if any(r.value is not None for r in results))
    if numeric_analytes > len(charts):
        lines.append(
            f"Charts show the first {len(charts)} of {numeric_analytes} analytes; "
            "the lines above list them all."
        )
    return OptionalSection(title=TITLE, lines=tuple(lines), charts=tuple(charts))
