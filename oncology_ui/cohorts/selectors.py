"""Cohorts of our own patients: who is in one, and their survival from diagnosis.

A cohort is read from the cases of the user's own care teams only (a break-glass grant opens one
patient's record for care, not for analytics). Observed survival is derived exactly as the board
outcomes page derives it (:func:`oncology_ui.boards.selectors.observed_follow_up`), from the
diagnosis. A group smaller than ``COHORT_MIN_GROUP_SIZE`` patients is never described: not its
curve, not its count.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet

from inference.survival.greenwood import KaplanMeierBand, kaplan_meier_band, number_at_risk
from inference.survival.logrank import LogRankResult, logrank_test
from oncology_ui.analysis.portrait_inputs import stage_group_number
from oncology_ui.analysis.selectors import DAYS_PER_MONTH
from oncology_ui.boards.selectors import observed_follow_up
from oncology_ui.clinical.models import Biomarker
from oncology_ui.core.models import Team
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.vocabularies import oncotree_lookup

#: Months of the at-risk table under the curve, and the landmarks read off the curve.
AT_RISK_MONTHS: tuple[int, ...] = (0, 12, 24, 36, 48, 60)
LANDMARK_YEARS: tuple[int, ...] = (1, 3, 5)
STAGES: tuple[tuple[str, str], ...] = (
    ("0", "Stage 0"),
    ("1", "Stage I"),
    ("2", "Stage II"),
    ("3", "Stage III"),
    ("4", "Stage IV"),
)


def min_group_size() -> int:
    return int(settings.COHORT_MIN_GROUP_SIZE)


def suppressed_text(size: int | None = None) -> str:
    """What a page or export says instead of a group too small to show."""
    return f"fewer than {size or min_group_size()} patients; not shown"


class Withheld:
    """A group whose numbers ``shown`` False withholds; ``suppressed`` says so in words."""

    shown: bool

    @property
    def suppressed(self) -> str:
        return "" if self.shown else suppressed_text()


@dataclass(frozen=True)
class CohortFilter:
    """Who belongs to a cohort; empty fields do not narrow it."""

    cancer_type: str = ""
    stage: str = ""
    biomarker: str = ""
    biomarker_status: str = ""
    therapy_line: int | None = None
    diagnosed_from: date | None = None
    diagnosed_to: date | None = None
    team: int | None = None

    def describe(self) -> str:
        parts = [
            self.cancer_type or "all cancer types",
            dict(STAGES).get(self.stage, ""),
            " ".join(p for p in (self.biomarker, self.biomarker_status) if p),
            f"line {self.therapy_line} therapy" if self.therapy_line else "",
            f"diagnosed from {self.diagnosed_from}" if self.diagnosed_from else "",
            f"diagnosed to {self.diagnosed_to}" if self.diagnosed_to else "",
        ]
        return ", ".join(p for p in parts if p)

    def reference(self) -> str:
        """A short, non-clinical name for the audit log: the hash of the filter."""
        text = json.dumps(asdict(self), default=str, sort_keys=True)
        return "cohort:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def team_cases(user: User) -> QuerySet[Case]:
    """Cases of the patients of the user's care teams (no break-glass grants)."""
    return Case.objects.visible_to(user).filter(patient__teams__members=user).distinct()


def cohort_cases(user: User, cohort: CohortFilter) -> list[Case]:
    """The cases of ``cohort`` among the user's team cases, oldest diagnosis first."""
    cases = team_cases(user).select_related("patient")
    if cohort.team is not None:
        cases = cases.filter(patient__teams=cohort.team)
    if cohort.cancer_type:
        cases = cases.filter(oncotree_code=cohort.cancer_type)
    if cohort.diagnosed_from:
        cases = cases.filter(diagnosis_date__gte=cohort.diagnosed_from)
    if cohort.diagnosed_to:
        cases = cases.filter(diagnosis_date__lte=cohort.diagnosed_to)
    if cohort.therapy_line is not None:
        cases = cases.filter(
            pk__in=TimelineEvent.objects.filter(
                kind=TimelineEvent.Kind.SYSTEMIC_THERAPY, line_number=cohort.therapy_line
            ).values("case_id")
        )
    if cohort.biomarker:
        markers = Biomarker.objects.filter(name__iexact=cohort.biomarker)
        if cohort.biomarker_status:
            markers = markers.filter(status__iexact=cohort.biomarker_status)
        cases = cases.filter(pk__in=markers.values("case_id"))
    chosen = list(cases.order_by("diagnosis_date", "pk"))
    if cohort.stage:
        chosen = [c for c in chosen if str(stage_group_number(c.stage_group)) == cohort.stage]
    return chosen


def cohort_choices(user: User) -> dict[str, list[tuple[str, str]]]:
    """What the builder's lists offer: only values present among the user's team cases."""
    cases = team_cases(user)
    codes = sorted(set(cases.values_list("oncotree_code", flat=True)))
    names = {code: node.name for code in codes if (node := oncotree_lookup(code)) is not None}
    markers = Biomarker.objects.filter(case__in=cases)
    return {
        "cancer_types": [(code, f"{names.get(code) or code} ({code})") for code in codes],
        "biomarkers": [(n, n) for n in sorted(set(markers.values_list("name", flat=True)))],
        "statuses": [
            (s, s) for s in sorted({s.lower() for s in markers.values_list("status", flat=True)})
        ],
        "teams": [(str(t.pk), t.name) for t in Team.objects.filter(members=user)],
    }


@dataclass(frozen=True)
class Landmark:
    years: int
    survival: float
    lower: float
    upper: float
    at_risk: int


@dataclass(frozen=True)
class CohortSurvival(Withheld):
    """One cohort's survival from diagnosis, or only the words that it is too small.

    ``shown`` False leaves every number empty: the page and the exports say
    :func:`suppressed_text` instead.
    """

    label: str
    description: str
    shown: bool
    patients: int | None = None
    events: int | None = None
    median_months: float | None = None
    landmarks: tuple[Landmark, ...] = ()
    at_risk: tuple[int, ...] = ()
    band: KaplanMeierBand | None = None
    times_months: tuple[float, ...] = ()
    died: tuple[bool, ...] = ()


def follow_up_months(cases: list[Case]) -> tuple[list[float], list[bool]]:
    """Months from diagnosis to death or last contact, and whether death ended them."""
    months, died = [], []
    for case in cases:
        days, dead = observed_follow_up(case.patient, case.diagnosis_date)
        months.append(days / DAYS_PER_MONTH)
        died.append(dead)
    return months, died


def cohort_survival(label: str, cohort: CohortFilter, cases: list[Case]) -> CohortSurvival:
    """Kaplan-Meier with its Greenwood band, landmarks, median and at-risk table of a cohort."""
    patients = len({c.patient_id for c in cases})
    if patients < min_group_size():
        return CohortSurvival(label=label, description=cohort.describe(), shown=False)
    months, died = follow_up_months(cases)
    times, events = np.array(months), np.array(died, dtype=np.float64)
    band = kaplan_meier_band(times, events)
    below_half = band.times[band.survival <= 0.5]
    landmarks = []
    for years in LANDMARK_YEARS:
        survival, lower, upper = band.at(12.0 * years)
        landmarks.append(
            Landmark(
                years,
                survival,
                lower,
                upper,
                int(number_at_risk(times, np.array([12.0 * years]))[0]),
            )
        )
    return CohortSurvival(
        label=label,
        description=cohort.describe(),
        shown=True,
        patients=patients,
        events=int(events.sum()),
        median_months=float(below_half[0]) if len(below_half) else None,
        landmarks=tuple(landmarks),
        at_risk=tuple(int(n) for n in number_at_risk(times, np.array(AT_RISK_MONTHS, float))),
        band=band,
        times_months=tuple(months),
        died=tuple(died),
    )


@dataclass(frozen=True)
class CohortComparison:
    first: CohortSurvival
    second: CohortSurvival | None
    logrank: LogRankResult | None
    patient_ids: tuple[int, ...]


def cohort_compare(
    user: User, first: CohortFilter, second: CohortFilter | None
) -> CohortComparison:
    """One cohort's survival, or two side by side with their log-rank test.

    The test is given only when both groups are shown; ``patient_ids`` are the patients whose
    records the result was computed from (every one is audited, shown or not).
    """
    cases_a = cohort_cases(user, first)
    survival_a = cohort_survival("A", first, cases_a)
    ids = [c.patient_id for c in cases_a]
    survival_b, test = None, None
    if second is not None:
        cases_b = cohort_cases(user, second)
        ids += [c.patient_id for c in cases_b]
        survival_b = cohort_survival("B", second, cases_b)
        if survival_a.shown and survival_b.shown:
            test = logrank_test(
                np.array(survival_a.times_months),
                np.array(survival_a.died, dtype=np.float64),
                np.array(survival_b.times_months),
                np.array(survival_b.died, dtype=np.float64),
            )
    return CohortComparison(survival_a, survival_b, test, tuple(dict.fromkeys(ids)))


def comparison_rows(comparison: CohortComparison) -> list[list[Any]]:
    """The comparison as CSV rows: landmarks, at-risk table and the test; small groups say so."""
    rows: list[list[Any]] = [
        ["cohort", "description", "measure", "time", "value", "lower", "upper"]
    ]
    for group in (comparison.first, comparison.second):
        if group is None:
            continue
        if not group.shown:
            rows.append([group.label, group.description, "suppressed", "", group.suppressed])
            continue
        rows.append([group.label, group.description, "patients", "", group.patients])
        rows.append([group.label, group.description, "deaths", "", group.events])
        rows.append(
            [
                group.label,
                group.description,
                "median survival (months)",
                "",
                _fmt(group.median_months) or "not reached",
            ]
        )
        for mark in group.landmarks:
            rows.append(
                [
                    group.label,
                    group.description,
                    "survival",
                    f"{mark.years} y",
                    _fmt(mark.survival),
                    _fmt(mark.lower),
                    _fmt(mark.upper),
                ]
            )
        for month, count in zip(AT_RISK_MONTHS, group.at_risk, strict=True):
            rows.append([group.label, group.description, "at risk", f"{month} mo", count])
    if comparison.logrank is not None:
        rows.append(
            ["A vs B", "log-rank", "chi-square (1 df)", "", _fmt(comparison.logrank.chi_square)]
        )
        rows.append(["A vs B", "log-rank", "p", "", f"{comparison.logrank.p_value:.4g}"])
    return rows


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
