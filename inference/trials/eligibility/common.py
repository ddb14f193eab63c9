"""What every eligibility check shares: the engine options and the verdict helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from inference.trials.schema import (
    Criterion,
    CriterionVerdict,
    Evidence,
    Fact,
    PatientFacts,
    StalenessPolicy,
    Verdict,
)


@dataclass(frozen=True)
class EligibilityOptions:
    """Knobs of the eligibility engine.

    Args:
        policy: staleness windows per fact kind.
        therapy_history_complete: when true, a therapy absent from ``prior_therapies`` was not
            given; when false its absence is unknown.
        reference_uln: site reference upper limits of normal (canonical units) for labs reported
            without one; empty means such ULN comparisons are unknown.
        medical_history_complete: when true, a malignancy absent from ``comorbidities`` was
            not diagnosed; when false "other malignancy" criteria stay unknown.
    """

    policy: StalenessPolicy = field(default_factory=StalenessPolicy)
    therapy_history_complete: bool = True
    reference_uln: Mapping[str, float] = field(default_factory=dict)
    medical_history_complete: bool = True


# One check per criterion kind: (criterion, patient, options) -> verdict.
Check = Callable[[Criterion, PatientFacts, EligibilityOptions], CriterionVerdict]


def is_stale(date: dt.date | None, as_of: dt.date, max_days: int | None) -> bool:
    if max_days is None or date is None:
        return False
    return (as_of - date).days > max_days


def evidence_of(
    fact: str, value: object, date: dt.date | None = None, source: str = ""
) -> Evidence:
    return Evidence(fact=fact, value=str(value), date=date, source=source)


def make_verdict(
    criterion: Criterion,
    holds: bool | None,
    evidence: Iterable[Evidence] = (),
    resolver: str = "",
    explanation: str = "",
) -> CriterionVerdict:
    """Turn "does the subject hold" into a verdict, applying the criterion's negation."""
    if holds is None:
        return CriterionVerdict(criterion, Verdict.UNKNOWN, tuple(evidence), resolver, explanation)
    statement = holds if criterion.present else not holds
    verdict = Verdict.MET if statement else Verdict.NOT_MET
    return CriterionVerdict(criterion, verdict, tuple(evidence), "", explanation)


def not_applicable_verdict(
    criterion: Criterion, why: str, evidence: Iterable[Evidence] = ()
) -> CriterionVerdict:
    return CriterionVerdict(criterion, Verdict.NOT_APPLICABLE, tuple(evidence), "", why)


def fact_check(
    criterion: Criterion,
    fact: Fact[bool] | None,
    name: str,
    max_days: int | None,
    as_of: dt.date,
    resolver: str,
) -> tuple[bool | None, list[Evidence], str]:
    if fact is None:
        return None, [], resolver
    evidence = [evidence_of(name, fact.value, fact.date, fact.source)]
    if is_stale(fact.date, as_of, max_days):
        return None, evidence, f"{resolver} (last recorded {fact.date}, older than {max_days} days)"
    return fact.value, evidence, ""
