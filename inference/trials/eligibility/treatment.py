"""Checks on molecular findings and treatment history: biomarkers, prior therapy, washout."""

from __future__ import annotations

import datetime as dt

from inference.trials.eligibility.common import (
    Check,
    EligibilityOptions,
    evidence_of,
    is_stale,
    make_verdict,
)
from inference.trials.lexicon import (
    ALTERED,
    GENE_ALIASES,
    NOT_ALTERED,
    therapy_class_unknown,
    therapy_matches,
)
from inference.trials.protein_change import protein_change_key
from inference.trials.schema import Criterion, CriterionKind, CriterionVerdict, PatientFacts

_SPECIFIC = {"mutated", "fusion", "amplified"}


def _biomarker(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    req = c.biomarker
    if req is None:
        return make_verdict(c, None, resolver="review this criterion manually")
    gene = GENE_ALIASES.get(req.gene.upper(), req.gene.upper())
    names = {gene}
    if gene == "HR":
        names |= {"ER", "PR"}
    results = [b for b in p.biomarkers if GENE_ALIASES.get(b.name.upper(), b.name.upper()) in names]
    if not results:
        return make_verdict(c, None, resolver=f"order {req.gene} testing")
    fresh = [b for b in results if not is_stale(b.date, p.as_of, o.policy.biomarker_days)]
    evidence = [
        evidence_of(b.name, f"{b.status} {b.variant}".strip(), b.date, b.source) for b in results
    ]
    if not fresh:
        return make_verdict(
            c, None, evidence, resolver=f"repeat {req.gene} testing (result is stale)"
        )
    if gene == "HR" and len(names) > 1:
        # Hormone-receptor positive means ER or PR positive; negative means both negative.
        altered = [b.status in ALTERED for b in fresh]
        holds_hr = any(altered) if req.status in ALTERED else not any(altered)
        if req.status in NOT_ALTERED and len(fresh) < 2 and not any(altered):
            return make_verdict(c, None, evidence, resolver="record both ER and PR status")
        return make_verdict(c, holds_hr, evidence)
    result = max(fresh, key=lambda b: b.date or dt.date.min)
    holds: bool | None
    if req.status in NOT_ALTERED:
        holds = result.status in NOT_ALTERED
    elif (
        result.status in NOT_ALTERED
        or req.status in {"mutated", "fusion", "amplified"}
        and result.status in {"mutated", "fusion", "amplified"}
        and req.status != result.status
    ):
        holds = False
    else:
        holds = True
    if holds and req.variant and req.status == "mutated":
        if not result.variant:
            return make_verdict(c, None, evidence, resolver=f"record the {req.gene} variant")
        holds = _variant_key(req.variant) == _variant_key(result.variant)
    return make_verdict(c, holds, evidence)


def _variant_key(variant: str) -> str:
    return protein_change_key(variant)


def _therapies(c: Criterion, p: PatientFacts) -> list[tuple[str, dt.date | None, int | None, str]]:
    agent = c.therapy.agent if c.therapy else ""
    return [
        (t.name, t.end or t.start, t.line, t.source)
        for t in p.prior_therapies
        if therapy_matches(agent, t.name, t.drug_classes)
    ]


def _prior_therapy(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    req = c.therapy
    if req is None:
        return make_verdict(c, None, resolver="review this criterion manually")
    matched = _therapies(c, p)
    evidence = [
        evidence_of("prior therapy", name, date, source) for name, date, _, source in matched
    ]
    if req.min_lines is not None or req.max_lines is not None:
        lines = {line for _, _, line, _ in matched if line is not None}
        if not lines and matched:
            return make_verdict(c, None, evidence, resolver="record the line of each prior therapy")
        count = max(lines) if lines else 0
        if not matched and not o.therapy_history_complete:
            return make_verdict(c, None, resolver="record the prior treatment history")
        ok = (req.min_lines is None or count >= req.min_lines) and (
            req.max_lines is None or count <= req.max_lines
        )
        return make_verdict(
            c,
            ok,
            evidence or [evidence_of("prior lines", count)],
            explanation=f"{count} prior line(s)",
        )
    if matched:
        return make_verdict(c, True, evidence)
    if not o.therapy_history_complete:
        return make_verdict(c, None, resolver=f"confirm whether the patient received {req.agent}")
    if req.agent == "chemotherapy":
        # A recorded line whose regimen says nothing of its kind may have been chemotherapy.
        unclear = [
            t
            for t in p.prior_therapies
            if t.name not in {"radiotherapy", "surgery"}
            and therapy_class_unknown(t.name, t.drug_classes)
        ]
        if unclear:
            return make_verdict(
                c,
                None,
                [evidence_of("prior therapy", t.name, t.end or t.start, t.source) for t in unclear],
                resolver="confirm whether "
                + ", ".join(t.name or "the recorded systemic line" for t in unclear)
                + " was chemotherapy",
            )
    return make_verdict(c, False, [evidence_of("prior therapy", f"no {req.agent} recorded")])


def _washout(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    req = c.therapy
    if req is None or req.within_days is None:
        return make_verdict(c, None, resolver="review this criterion manually")
    matched = _therapies(c, p)
    if not matched:
        if not o.therapy_history_complete:
            return make_verdict(c, None, resolver=f"confirm the date of the last {req.agent}")
        return make_verdict(c, False, [evidence_of("prior therapy", f"no {req.agent} recorded")])
    undated = [m for m in matched if m[1] is None]
    recent = [m for m in matched if m[1] is not None and (p.as_of - m[1]).days <= req.within_days]
    evidence = [
        evidence_of("prior therapy", name, date, source) for name, date, _, source in matched
    ]
    if recent:
        return make_verdict(
            c, True, evidence, explanation=f"{req.agent} within {req.within_days} days of {p.as_of}"
        )
    if undated:
        return make_verdict(c, None, evidence, resolver=f"record when the last {req.agent} ended")
    return make_verdict(
        c, False, evidence, explanation=f"last {req.agent} more than {req.within_days} days ago"
    )


CHECKS: dict[CriterionKind, Check] = {
    CriterionKind.BIOMARKER: _biomarker,
    CriterionKind.PRIOR_THERAPY: _prior_therapy,
    CriterionKind.WASHOUT: _washout,
}
