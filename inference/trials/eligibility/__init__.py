"""Judge criteria against a patient's facts: met / not met / unknown / not applicable.

The verdict says whether the criterion's *statement* holds for the patient; for an exclusion
criterion a ``MET`` verdict therefore makes the patient ineligible. Missing or stale facts give
``UNKNOWN`` with a resolver that says what would settle it; nothing is guessed.

One check per criterion kind, grouped by what they read:

* :mod:`.common` - :class:`EligibilityOptions` and the verdict helpers every check uses
* :mod:`.patient` - age, sex, performance status, labs, brain metastases, measurable disease,
  pregnancy, life expectancy
* :mod:`.treatment` - biomarkers, prior therapy, washout
* :mod:`.disease` - condition, stage, prior malignancy, permissive criteria
"""

from __future__ import annotations

from collections.abc import Iterable

from inference.trials.eligibility import disease, patient, treatment
from inference.trials.eligibility.common import (
    Check,
    EligibilityOptions,
    evidence_of,
    not_applicable_verdict,
)
from inference.trials.eligibility.patient import other_sex_only
from inference.trials.schema import (
    Criterion,
    CriterionKind,
    CriterionVerdict,
    EligibilitySummary,
    PatientFacts,
    Verdict,
)

__all__ = ["EligibilityOptions", "evaluate_criterion", "evaluate_trial", "summarise"]

_HANDLERS: dict[CriterionKind, Check] = {**patient.CHECKS, **treatment.CHECKS, **disease.CHECKS}


def evaluate_criterion(
    criterion: Criterion, patient: PatientFacts, options: EligibilityOptions | None = None
) -> CriterionVerdict:
    """Judge one criterion for one patient.

    Args:
        criterion: the criterion.
        patient: the patient's facts.
        options: staleness policy and other knobs; defaults when None.

    Returns:
        The verdict with the evidence used and, for unknown, what would resolve it.
    """
    options = options or EligibilityOptions()
    handler = _HANDLERS.get(criterion.kind)
    if handler is None:
        other_sex = other_sex_only(criterion.text, patient.sex)
        if other_sex:
            return not_applicable_verdict(
                criterion,
                f"the criterion concerns {other_sex} patients only",
                [evidence_of("sex", patient.sex)],
            )
        return CriterionVerdict(
            criterion,
            Verdict.UNKNOWN,
            (),
            "review this criterion manually",
            "free-text criterion; no structure was extracted",
        )
    return handler(criterion, patient, options)


def summarise(verdicts: Iterable[CriterionVerdict]) -> EligibilitySummary:
    """Aggregate verdicts, treating any-of groups as one requirement.

    Args:
        verdicts: the verdicts of one patient-trial pair.

    Returns:
        The counts; ``excluded`` is true when a failed requirement (an unmet inclusion or a met
        exclusion, outside or as a whole any-of group) rules the patient out.
    """
    groups: dict[str, list[CriterionVerdict]] = {}
    singles: list[CriterionVerdict] = []
    for v in verdicts:
        # An exclusion list ("any of the following") excludes on any member: no rescue there.
        if v.criterion.any_of_group and v.criterion.group_id and v.criterion.inclusion:
            groups.setdefault(v.criterion.group_id, []).append(v)
        else:
            singles.append(v)
    satisfied = failed = unknown = not_applicable = 0
    for v in singles:
        if v.verdict is Verdict.NOT_APPLICABLE:
            not_applicable += 1
        elif v.excludes_patient:
            failed += 1
        elif v.satisfied:
            satisfied += 1
        else:
            unknown += 1
    for members in groups.values():
        if any(m.satisfied for m in members):
            satisfied += 1
        elif all(m.excludes_patient or m.verdict is Verdict.NOT_APPLICABLE for m in members):
            failed += 1
        else:
            unknown += 1
    return EligibilitySummary(failed > 0, satisfied, failed, unknown, not_applicable)


def evaluate_trial(
    criteria: Iterable[Criterion], patient: PatientFacts, options: EligibilityOptions | None = None
) -> tuple[tuple[CriterionVerdict, ...], EligibilitySummary]:
    """Judge all criteria of a trial for one patient.

    Args:
        criteria: the trial's criteria (see ``criteria_for_trial``).
        patient: the patient's facts.
        options: engine options.

    Returns:
        The verdicts in criteria order and their summary.
    """
    verdicts = tuple(evaluate_criterion(c, patient, options) for c in criteria)
    return verdicts, summarise(verdicts)
