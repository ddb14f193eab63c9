"""Checks on the patient: age, sex, performance status, labs, brain metastases, measurable
disease, pregnancy and life expectancy.
"""

from __future__ import annotations

import datetime as dt
import re

from inference.trials.eligibility.common import (
    Check,
    EligibilityOptions,
    evidence_of,
    fact_check,
    is_stale,
    make_verdict,
    not_applicable_verdict,
)
from inference.trials.lexicon import ANALYTE_LABELS, CANONICAL_UNITS, to_canonical
from inference.trials.schema import (
    Criterion,
    CriterionKind,
    CriterionVerdict,
    LabValue,
    NumericBound,
    PatientFacts,
)

# Standard Karnofsky -> ECOG correspondence (Oken et al. 1982), used only when one scale is missing.
_KPS_TO_ECOG = ((90, 0), (70, 1), (50, 2), (30, 3), (0, 4))
_ECOG_TO_KPS = {0: (90, 100), 1: (70, 80), 2: (50, 60), 3: (30, 40), 4: (10, 20)}

_FEMALE_ONLY_RE = re.compile(
    r"\b(?:women|woman|female|childbearing|child-bearing|pregnan\w*|lactat\w*|breast[- ]?feed\w*|"
    r"menopaus\w*|postmenopaus\w*|premenopaus\w*|ovar\w+|uter\w+|cervix|mammogra\w+|"
    # "cervical" alone is also the neck (cervical spine, cervical lymph nodes).
    r"cervical (?:cancer|carcinoma|cytology|smear|screening|dysplasia|intraepithelial\w*|"
    r"neoplasia|lesions?|insufficiency|cerclage))\b",
    re.I,
)
_MALE_ONLY_RE = re.compile(r"\b(?:men|male|prostat\w*|testic\w*|sperm\w*|vasectom\w*)\b", re.I)
_BOTH_SEXES_RE = re.compile(
    r"\b(?:men and women|women and men|male and female|female and male|"
    r"males? or females?|females? or males?|both sexes|partner)\b",
    re.I,
)


def other_sex_only(text: str, sex: str | None) -> str:
    """ "female" or "male" when a free-text criterion only concerns the other sex's patients."""
    if not sex or _BOTH_SEXES_RE.search(text):
        return ""
    if sex.lower() == "male" and _FEMALE_ONLY_RE.search(text) and not _MALE_ONLY_RE.search(text):
        return "female"
    if sex.lower() == "female" and _MALE_ONLY_RE.search(text) and not _FEMALE_ONLY_RE.search(text):
        return "male"
    return ""


# What may follow an age limit's number: a range's other end, then a unit.
_AFTER_NUMBER_RE = re.compile(
    r"\s*(?:(?:-|–|to|and)\s*\d+(?:\.\d+)?\s*|"
    r"(?:or|and) (?:more|older|over|above|greater|less|younger|under|below)\s*)?"
    r"(?P<unit>\+|years?\b|yrs?\b|y/?o\b|y\.o\.|age\b|old\b|months?\b|mos?\b|weeks?\b|wks?\b|days?\b|hours?\b|hrs?\b|%|percent\b|"
    r"[mµu]?g\b|kg\b|m?l\b|mm\b|cm\b|episodes?\b|standard\b|times\b|x\b|/)?",
    re.I,
)
_YEARS_UNIT_RE = re.compile(r"\+|years?|yrs?|y/?o|y\.o\.|age|old", re.I)
_AGE_CUE_BEFORE_RE = re.compile(r"\bage[sd]?\b[^.;\d]{0,40}$", re.I)


def age_limit_in_years(text: str, bound: NumericBound) -> bool:
    """True when one of the bound's numbers is written as an age in years in the criterion.

    Guards against a limit read from another quantity ("2 standard deviations below the mean
    for age", "FVC > 80 % predicted for age", "ages 2-18 months" taken as years): such a
    verdict would rest on a number that is not the age limit, so it is not judged.
    """
    for value in (bound.low, bound.high):
        if value is None:
            continue
        for m in re.finditer(rf"(?<![\d.]){re.escape(f'{value:g}')}(?!\.?\d)", text):
            unit = _AFTER_NUMBER_RE.match(text, m.end())
            found = unit.group("unit") if unit else None
            if found:
                if _YEARS_UNIT_RE.fullmatch(found):
                    return True
                continue
            if _AGE_CUE_BEFORE_RE.search(text[max(0, m.start() - 50) : m.start()]):
                return True
    return False


def _age(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    if p.age_years is None or c.bound is None:
        return make_verdict(c, None, resolver="record the patient's date of birth or age")
    # Record criteria come from the registry's age fields; a PDQ heading ("Age: 18 and over")
    # is the criterion's context, not its text.
    from_record = c.criterion_id.startswith("record-")
    if not from_record and not age_limit_in_years(f"{c.context}: {c.text}", c.bound):
        return make_verdict(
            c, None, resolver="review this criterion manually: its age limit was not read"
        )
    return make_verdict(
        c, c.bound.contains(p.age_years), [evidence_of("age", f"{p.age_years:g} years")]
    )


def _sex(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    if not p.sex:
        return make_verdict(c, None, resolver="record the patient's sex")
    return make_verdict(c, p.sex.lower() == c.sex, [evidence_of("sex", p.sex)])


def _performance(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    if c.bound is None:
        return make_verdict(c, None, resolver="review this criterion manually")
    scale = c.terms[0] if c.terms else "ecog"
    days = o.policy.performance_status_days
    fresh_ecog = p.ecog if p.ecog and not is_stale(p.ecog.date, p.as_of, days) else None
    fresh_kps = (
        p.karnofsky if p.karnofsky and not is_stale(p.karnofsky.date, p.as_of, days) else None
    )
    if scale == "ecog":
        if fresh_ecog is not None:
            ev = [evidence_of("ECOG", fresh_ecog.value, fresh_ecog.date, fresh_ecog.source)]
            return make_verdict(c, c.bound.contains(fresh_ecog.value), ev)
        if fresh_kps is not None:
            ecog = next(e for k, e in _KPS_TO_ECOG if fresh_kps.value >= k)
            ev = [evidence_of("Karnofsky", fresh_kps.value, fresh_kps.date, fresh_kps.source)]
            return make_verdict(
                c,
                c.bound.contains(ecog),
                ev,
                explanation=f"Karnofsky {fresh_kps.value} read as ECOG {ecog}",
            )
    else:
        if fresh_kps is not None:
            ev = [evidence_of("Karnofsky", fresh_kps.value, fresh_kps.date, fresh_kps.source)]
            return make_verdict(c, c.bound.contains(fresh_kps.value), ev)
        if fresh_ecog is not None:
            low, high = _ECOG_TO_KPS[fresh_ecog.value]
            inside = [c.bound.contains(v) for v in (low, high)]
            ev = [evidence_of("ECOG", fresh_ecog.value, fresh_ecog.date, fresh_ecog.source)]
            if all(inside) or not any(inside):
                return make_verdict(
                    c,
                    all(inside),
                    ev,
                    explanation=f"ECOG {fresh_ecog.value} read as Karnofsky {low}-{high}",
                )
            return make_verdict(c, None, ev, resolver="record a Karnofsky score")
    stale = p.ecog or p.karnofsky
    if stale is not None:
        return make_verdict(
            c,
            None,
            [evidence_of("performance status", stale.value, stale.date, stale.source)],
            resolver=f"reassess performance status (last recorded {stale.date}, "
            f"older than {days} days)",
        )
    return make_verdict(c, None, resolver="no ECOG recorded: assess performance status")


def _lab_value(lab: LabValue) -> float | None:
    return to_canonical(lab.name, lab.value, lab.unit)


def _lab(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    t = c.lab
    if t is None:
        return make_verdict(c, None, resolver="review this criterion manually")
    label = ANALYTE_LABELS.get(t.analyte, t.analyte)
    results = sorted(
        (lab for lab in p.labs if lab.name == t.analyte),
        key=lambda lab: lab.date or dt.date.min,
        reverse=True,
    )
    if not results:
        return make_verdict(c, None, resolver=f"order {label}")
    latest = results[0]
    evidence = [evidence_of(label, f"{latest.value:g} {latest.unit}", latest.date, latest.source)]
    if is_stale(latest.date, p.as_of, o.policy.lab_days):
        return make_verdict(
            c,
            None,
            evidence,
            resolver=f"repeat {label} (last {latest.date}, older than {o.policy.lab_days} days)",
        )
    value = _lab_value(latest)
    if value is None:
        return make_verdict(c, None, evidence, resolver=f"record {label} in a known unit")
    limit = t.value
    explanation = ""
    if t.uln_multiple:
        uln_raw = latest.uln
        uln = to_canonical(t.analyte, uln_raw, latest.unit) if uln_raw is not None else None
        if uln is None:
            uln = o.reference_uln.get(t.analyte)
        if uln is None:
            return make_verdict(
                c, None, evidence, resolver=f"record the upper limit of normal for {label}"
            )
        multiple = t.value
        if t.value_with_liver_metastases is not None:
            liver = p.liver_metastases
            if liver is not None and liver.value:
                multiple = t.value_with_liver_metastases
                evidence.append(evidence_of("liver metastases", True, liver.date, liver.source))
            elif (
                liver is None
                and value <= t.value_with_liver_metastases * uln
                and not _compare(value, t.comparator, t.value * uln)
            ):
                return make_verdict(
                    c, None, evidence, resolver="record whether the patient has liver metastases"
                )
        limit = multiple * uln
        explanation = (
            f"{value:.3g} vs {multiple:g} x ULN ({limit:.3g} {CANONICAL_UNITS[t.analyte]})"
        )
    else:
        converted = to_canonical(t.analyte, t.value, t.unit)
        if converted is None:
            return make_verdict(c, None, evidence, resolver=f"check the unit of the {label} limit")
        limit = converted
        explanation = f"{value:.3g} {CANONICAL_UNITS[t.analyte]} {t.comparator} {limit:.3g}"
    return make_verdict(c, _compare(value, t.comparator, limit), evidence, explanation=explanation)


def _compare(value: float, comparator: str, limit: float) -> bool:
    eps = 1e-9
    if comparator == ">=":
        return value >= limit - eps
    if comparator == ">":
        return value > limit
    if comparator == "<=":
        return value <= limit + eps
    return value < limit


def _brain(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    holds, evidence, resolver = fact_check(
        c,
        p.brain_metastases,
        "brain metastases",
        o.policy.imaging_days,
        p.as_of,
        "brain imaging (MRI) to assess brain metastases",
    )
    if holds and c.terms:
        return make_verdict(
            c,
            None,
            evidence,
            resolver=f"confirm whether the brain metastases are {'/'.join(c.terms)}",
        )
    return make_verdict(c, holds, evidence, resolver=resolver)


def _measurable(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    return make_verdict(
        c,
        *fact_check(
            c,
            p.measurable_disease,
            "measurable disease",
            o.policy.imaging_days,
            p.as_of,
            "baseline imaging to document measurable disease (RECIST 1.1)",
        ),
    )


def _pregnancy(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    if p.sex and p.sex.lower() == "male":
        return not_applicable_verdict(
            c, "pregnancy criteria do not apply to male patients", [evidence_of("sex", p.sex)]
        )
    return make_verdict(
        c,
        *fact_check(c, p.pregnant, "pregnant", o.policy.pregnancy_days, p.as_of, "pregnancy test"),
    )


def _life_expectancy(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    fact = p.life_expectancy_months
    if fact is None or c.bound is None:
        return make_verdict(c, None, resolver="record the clinician's estimate of life expectancy")
    evidence = [evidence_of("life expectancy", f"{fact.value:g} months", fact.date, fact.source)]
    if is_stale(fact.date, p.as_of, o.policy.life_expectancy_days):
        return make_verdict(c, None, evidence, resolver="update the life-expectancy estimate")
    return make_verdict(c, c.bound.contains(fact.value), evidence)


CHECKS: dict[CriterionKind, Check] = {
    CriterionKind.AGE: _age,
    CriterionKind.SEX: _sex,
    CriterionKind.PERFORMANCE_STATUS: _performance,
    CriterionKind.LAB: _lab,
    CriterionKind.BRAIN_METASTASES: _brain,
    CriterionKind.MEASURABLE_DISEASE: _measurable,
    CriterionKind.PREGNANCY: _pregnancy,
    CriterionKind.LIFE_EXPECTANCY: _life_expectancy,
}
