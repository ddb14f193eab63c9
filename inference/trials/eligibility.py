"""Judge criteria against a patient's facts: met / not met / unknown / not applicable.

The verdict says whether the criterion's *statement* holds for the patient; for an exclusion
criterion a ``MET`` verdict therefore makes the patient ineligible. Missing or stale facts give
``UNKNOWN`` with a resolver that says what would settle it; nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from inference.trials.extract.disease import IN_SITU_RE, SKIN_CANCER_RE
from inference.trials.lexicon import (
    ALTERED,
    ANALYTE_LABELS,
    CANONICAL_UNITS,
    GENE_ALIASES,
    NOT_ALTERED,
    therapy_class_unknown,
    therapy_matches,
    to_canonical,
    tumour_sites,
)
from inference.trials.schema import (
    Criterion,
    CriterionKind,
    CriterionVerdict,
    EligibilitySummary,
    Evidence,
    Fact,
    LabValue,
    PatientFacts,
    StalenessPolicy,
    Verdict,
)

# Standard Karnofsky -> ECOG correspondence (Oken et al. 1982), used only when one scale is missing.
_KPS_TO_ECOG = ((90, 0), (70, 1), (50, 2), (30, 3), (0, 4))
_ECOG_TO_KPS = {0: (90, 100), 1: (70, 80), 2: (50, 60), 3: (30, 40), 4: (10, 20)}
_STAGE_ORDER = ("0", "I", "II", "III", "IV")
_SPECIFIC = {"mutated", "fusion", "amplified"}


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


def _stale(date: dt.date | None, as_of: dt.date, max_days: int | None) -> bool:
    if max_days is None or date is None:
        return False
    return (as_of - date).days > max_days


def _ev(fact: str, value: object, date: dt.date | None = None, source: str = "") -> Evidence:
    return Evidence(fact=fact, value=str(value), date=date, source=source)


def _verdict(
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


def _not_applicable(
    criterion: Criterion, why: str, evidence: Iterable[Evidence] = ()
) -> CriterionVerdict:
    return CriterionVerdict(criterion, Verdict.NOT_APPLICABLE, tuple(evidence), "", why)


def _fact_check(
    criterion: Criterion,
    fact: Fact[bool] | None,
    name: str,
    max_days: int | None,
    as_of: dt.date,
    resolver: str,
) -> tuple[bool | None, list[Evidence], str]:
    if fact is None:
        return None, [], resolver
    evidence = [_ev(name, fact.value, fact.date, fact.source)]
    if _stale(fact.date, as_of, max_days):
        return None, evidence, f"{resolver} (last recorded {fact.date}, older than {max_days} days)"
    return fact.value, evidence, ""


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
        other_sex = _other_sex_only(criterion.text, patient.sex)
        if other_sex:
            return _not_applicable(
                criterion,
                f"the criterion concerns {other_sex} patients only",
                [_ev("sex", patient.sex)],
            )
        return CriterionVerdict(
            criterion,
            Verdict.UNKNOWN,
            (),
            "review this criterion manually",
            "free-text criterion; no structure was extracted",
        )
    return handler(criterion, patient, options)


_FEMALE_ONLY_RE = re.compile(
    r"\b(?:women|woman|female|childbearing|child-bearing|pregnan\w*|lactat\w*|breast[- ]?feed\w*|"
    r"menopaus\w*|postmenopaus\w*|premenopaus\w*|ovar\w+|uter\w+|cervi\w+|mammogra\w+)\b",
    re.I,
)
_MALE_ONLY_RE = re.compile(r"\b(?:men|male|prostat\w*|testic\w*|sperm\w*|vasectom\w*)\b", re.I)
_BOTH_SEXES_RE = re.compile(
    r"\b(?:men and women|women and men|male and female|female and male|"
    r"males? or females?|females? or males?|both sexes|partner)\b",
    re.I,
)


def _other_sex_only(text: str, sex: str | None) -> str:
    """ "female" or "male" when a free-text criterion only concerns the other sex's patients."""
    if not sex or _BOTH_SEXES_RE.search(text):
        return ""
    if sex.lower() == "male" and _FEMALE_ONLY_RE.search(text) and not _MALE_ONLY_RE.search(text):
        return "female"
    if sex.lower() == "female" and _MALE_ONLY_RE.search(text) and not _FEMALE_ONLY_RE.search(text):
        return "male"
    return ""


def _age(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    if p.age_years is None or c.bound is None:
        return _verdict(c, None, resolver="record the patient's date of birth or age")
    return _verdict(c, c.bound.contains(p.age_years), [_ev("age", f"{p.age_years:g} years")])


def _sex(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    if not p.sex:
        return _verdict(c, None, resolver="record the patient's sex")
    return _verdict(c, p.sex.lower() == c.sex, [_ev("sex", p.sex)])


def _performance(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    if c.bound is None:
        return _verdict(c, None, resolver="review this criterion manually")
    scale = c.terms[0] if c.terms else "ecog"
    days = o.policy.performance_status_days
    fresh_ecog = p.ecog if p.ecog and not _stale(p.ecog.date, p.as_of, days) else None
    fresh_kps = p.karnofsky if p.karnofsky and not _stale(p.karnofsky.date, p.as_of, days) else None
    if scale == "ecog":
        if fresh_ecog is not None:
            ev = [_ev("ECOG", fresh_ecog.value, fresh_ecog.date, fresh_ecog.source)]
            return _verdict(c, c.bound.contains(fresh_ecog.value), ev)
        if fresh_kps is not None:
            ecog = next(e for k, e in _KPS_TO_ECOG if fresh_kps.value >= k)
            ev = [_ev("Karnofsky", fresh_kps.value, fresh_kps.date, fresh_kps.source)]
            return _verdict(
                c,
                c.bound.contains(ecog),
                ev,
                explanation=f"Karnofsky {fresh_kps.value} read as ECOG {ecog}",
            )
    else:
        if fresh_kps is not None:
            ev = [_ev("Karnofsky", fresh_kps.value, fresh_kps.date, fresh_kps.source)]
            return _verdict(c, c.bound.contains(fresh_kps.value), ev)
        if fresh_ecog is not None:
            low, high = _ECOG_TO_KPS[fresh_ecog.value]
            inside = [c.bound.contains(v) for v in (low, high)]
            ev = [_ev("ECOG", fresh_ecog.value, fresh_ecog.date, fresh_ecog.source)]
            if all(inside) or not any(inside):
                return _verdict(
                    c,
                    all(inside),
                    ev,
                    explanation=f"ECOG {fresh_ecog.value} read as Karnofsky {low}-{high}",
                )
            return _verdict(c, None, ev, resolver="record a Karnofsky score")
    stale = p.ecog or p.karnofsky
    if stale is not None:
        return _verdict(
            c,
            None,
            [_ev("performance status", stale.value, stale.date, stale.source)],
            resolver=f"reassess performance status (last recorded {stale.date}, "
            f"older than {days} days)",
        )
    return _verdict(c, None, resolver="no ECOG recorded: assess performance status")


def _lab_value(lab: LabValue) -> float | None:
    return to_canonical(lab.name, lab.value, lab.unit)


def _lab(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    t = c.lab
    if t is None:
        return _verdict(c, None, resolver="review this criterion manually")
    label = ANALYTE_LABELS.get(t.analyte, t.analyte)
    results = sorted(
        (lab for lab in p.labs if lab.name == t.analyte),
        key=lambda lab: lab.date or dt.date.min,
        reverse=True,
    )
    if not results:
        return _verdict(c, None, resolver=f"order {label}")
    latest = results[0]
    evidence = [_ev(label, f"{latest.value:g} {latest.unit}", latest.date, latest.source)]
    if _stale(latest.date, p.as_of, o.policy.lab_days):
        return _verdict(
            c,
            None,
            evidence,
            resolver=f"repeat {label} (last {latest.date}, older than {o.policy.lab_days} days)",
        )
    value = _lab_value(latest)
    if value is None:
        return _verdict(c, None, evidence, resolver=f"record {label} in a known unit")
    limit = t.value
    explanation = ""
    if t.uln_multiple:
        uln_raw = latest.uln
        uln = to_canonical(t.analyte, uln_raw, latest.unit) if uln_raw is not None else None
        if uln is None:
            uln = o.reference_uln.get(t.analyte)
        if uln is None:
            return _verdict(
                c, None, evidence, resolver=f"record the upper limit of normal for {label}"
            )
        multiple = t.value
        if t.value_with_liver_metastases is not None:
            liver = p.liver_metastases
            if liver is not None and liver.value:
                multiple = t.value_with_liver_metastases
                evidence.append(_ev("liver metastases", True, liver.date, liver.source))
            elif (
                liver is None
                and value <= t.value_with_liver_metastases * uln
                and not _compare(value, t.comparator, t.value * uln)
            ):
                return _verdict(
                    c, None, evidence, resolver="record whether the patient has liver metastases"
                )
        limit = multiple * uln
        explanation = (
            f"{value:.3g} vs {multiple:g} x ULN ({limit:.3g} {CANONICAL_UNITS[t.analyte]})"
        )
    else:
        converted = to_canonical(t.analyte, t.value, t.unit)
        if converted is None:
            return _verdict(c, None, evidence, resolver=f"check the unit of the {label} limit")
        limit = converted
        explanation = f"{value:.3g} {CANONICAL_UNITS[t.analyte]} {t.comparator} {limit:.3g}"
    return _verdict(c, _compare(value, t.comparator, limit), evidence, explanation=explanation)


def _compare(value: float, comparator: str, limit: float) -> bool:
    eps = 1e-9
    if comparator == ">=":
        return value >= limit - eps
    if comparator == ">":
        return value > limit
    if comparator == "<=":
        return value <= limit + eps
    return value < limit


def _biomarker(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    req = c.biomarker
    if req is None:
        return _verdict(c, None, resolver="review this criterion manually")
    gene = GENE_ALIASES.get(req.gene.upper(), req.gene.upper())
    names = {gene}
    if gene == "HR":
        names |= {"ER", "PR"}
    results = [b for b in p.biomarkers if GENE_ALIASES.get(b.name.upper(), b.name.upper()) in names]
    if not results:
        return _verdict(c, None, resolver=f"order {req.gene} testing")
    fresh = [b for b in results if not _stale(b.date, p.as_of, o.policy.biomarker_days)]
    evidence = [_ev(b.name, f"{b.status} {b.variant}".strip(), b.date, b.source) for b in results]
    if not fresh:
        return _verdict(c, None, evidence, resolver=f"repeat {req.gene} testing (result is stale)")
    if gene == "HR" and len(names) > 1:
        # Hormone-receptor positive means ER or PR positive; negative means both negative.
        altered = [b.status in ALTERED for b in fresh]
        holds_hr = any(altered) if req.status in ALTERED else not any(altered)
        if req.status in NOT_ALTERED and len(fresh) < 2 and not any(altered):
            return _verdict(c, None, evidence, resolver="record both ER and PR status")
        return _verdict(c, holds_hr, evidence)
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
            return _verdict(c, None, evidence, resolver=f"record the {req.gene} variant")
        holds = _variant_key(req.variant) == _variant_key(result.variant)
    return _verdict(c, holds, evidence)


def _variant_key(variant: str) -> str:
    return re.sub(r"[^a-z0-9]", "", variant.lower())


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
        return _verdict(c, None, resolver="review this criterion manually")
    matched = _therapies(c, p)
    evidence = [_ev("prior therapy", name, date, source) for name, date, _, source in matched]
    if req.min_lines is not None or req.max_lines is not None:
        lines = {line for _, _, line, _ in matched if line is not None}
        if not lines and matched:
            return _verdict(c, None, evidence, resolver="record the line of each prior therapy")
        count = max(lines) if lines else 0
        if not matched and not o.therapy_history_complete:
            return _verdict(c, None, resolver="record the prior treatment history")
        ok = (req.min_lines is None or count >= req.min_lines) and (
            req.max_lines is None or count <= req.max_lines
        )
        return _verdict(
            c, ok, evidence or [_ev("prior lines", count)], explanation=f"{count} prior line(s)"
        )
    if matched:
        return _verdict(c, True, evidence)
    if not o.therapy_history_complete:
        return _verdict(c, None, resolver=f"confirm whether the patient received {req.agent}")
    if req.agent == "chemotherapy":
        # A recorded line whose regimen says nothing of its kind may have been chemotherapy.
        unclear = [
            t
            for t in p.prior_therapies
            if t.name not in {"radiotherapy", "surgery"}
            and therapy_class_unknown(t.name, t.drug_classes)
        ]
        if unclear:
            return _verdict(
                c,
                None,
                [_ev("prior therapy", t.name, t.end or t.start, t.source) for t in unclear],
                resolver="confirm whether "
                + ", ".join(t.name or "the recorded systemic line" for t in unclear)
                + " was chemotherapy",
            )
    return _verdict(c, False, [_ev("prior therapy", f"no {req.agent} recorded")])


def _washout(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    req = c.therapy
    if req is None or req.within_days is None:
        return _verdict(c, None, resolver="review this criterion manually")
    matched = _therapies(c, p)
    if not matched:
        if not o.therapy_history_complete:
            return _verdict(c, None, resolver=f"confirm the date of the last {req.agent}")
        return _verdict(c, False, [_ev("prior therapy", f"no {req.agent} recorded")])
    undated = [m for m in matched if m[1] is None]
    recent = [m for m in matched if m[1] is not None and (p.as_of - m[1]).days <= req.within_days]
    evidence = [_ev("prior therapy", name, date, source) for name, date, _, source in matched]
    if recent:
        return _verdict(
            c, True, evidence, explanation=f"{req.agent} within {req.within_days} days of {p.as_of}"
        )
    if undated:
        return _verdict(c, None, evidence, resolver=f"record when the last {req.agent} ended")
    return _verdict(
        c, False, evidence, explanation=f"last {req.agent} more than {req.within_days} days ago"
    )


def _brain(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    holds, evidence, resolver = _fact_check(
        c,
        p.brain_metastases,
        "brain metastases",
        o.policy.imaging_days,
        p.as_of,
        "brain imaging (MRI) to assess brain metastases",
    )
    if holds and c.terms:
        return _verdict(
            c,
            None,
            evidence,
            resolver=f"confirm whether the brain metastases are {'/'.join(c.terms)}",
        )
    return _verdict(c, holds, evidence, resolver=resolver)


def _measurable(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    holds, evidence, resolver = _fact_check(
        c,
        p.measurable_disease,
        "measurable disease",
        o.policy.imaging_days,
        p.as_of,
        "baseline imaging to document measurable disease (RECIST 1.1)",
    )
    return _verdict(c, holds, evidence, resolver=resolver)


def _pregnancy(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    if p.sex and p.sex.lower() == "male":
        return _not_applicable(
            c, "pregnancy criteria do not apply to male patients", [_ev("sex", p.sex)]
        )
    holds, evidence, resolver = _fact_check(
        c,
        p.pregnant,
        "pregnant",
        o.policy.pregnancy_days,
        p.as_of,
        "pregnancy test",
    )
    return _verdict(c, holds, evidence, resolver=resolver)


def _life_expectancy(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    fact = p.life_expectancy_months
    if fact is None or c.bound is None:
        return _verdict(c, None, resolver="record the clinician's estimate of life expectancy")
    evidence = [_ev("life expectancy", f"{fact.value:g} months", fact.date, fact.source)]
    if _stale(fact.date, p.as_of, o.policy.life_expectancy_days):
        return _verdict(c, None, evidence, resolver="update the life-expectancy estimate")
    return _verdict(c, c.bound.contains(fact.value), evidence)


def _condition(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    diagnosis = " ".join(x for x in (p.diagnosis_text, p.oncotree_code) if x)
    if not diagnosis:
        return _verdict(c, None, resolver="record the diagnosis")
    patient_sites = tumour_sites(diagnosis)
    wanted = set(c.terms)
    evidence = [_ev("diagnosis", diagnosis)]
    if patient_sites & wanted:
        return _verdict(c, True, evidence)
    if patient_sites:
        return _verdict(c, False, evidence)
    return _verdict(c, None, evidence, resolver="record the tumour type (OncoTree code)")


def _stage(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    if p.stage is None:
        return _verdict(c, None, resolver="record the stage")
    stage = p.stage.value.upper().replace("STAGE", "").strip()
    evidence = [_ev("stage", stage, p.stage.date, p.stage.source)]
    if _stale(p.stage.date, p.as_of, o.policy.stage_days):
        return _verdict(c, None, evidence, resolver="restage the disease (stage is stale)")
    group = re.sub(r"[ABC123]", "", stage)
    unknown = False
    for term in c.terms:
        if term == "metastatic":
            if group == "IV":
                return _verdict(c, True, evidence)
            continue
        if term == "locally advanced":
            if group == "III":
                return _verdict(c, True, evidence)
            unknown = unknown or group == "II"
            continue
        term_group = re.sub(r"[ABC123]", "", term)
        if term == stage or (term == term_group and term_group == group):
            return _verdict(c, True, evidence)
        if term_group == group and stage == group:
            unknown = True  # "IIIB" asked, patient recorded as "III"
    if unknown:
        return _verdict(c, None, evidence, resolver="record the stage with its sub-group")
    return _verdict(c, group in _STAGE_ORDER and False, evidence)


_CANCER_WORD_RE = re.compile(
    r"cancer|carcinoma|malignan|neoplasm|tumou?r|lymphoma|leuka?emia|myeloma|sarcoma|melanoma|"
    r"glioma|blastoma|mesothelioma",
    re.I,
)
_DISTINCT_PRIMARY_RE = re.compile(
    r"second(?:ary)? primary|other primary|another primary|new primary|contralateral|"
    r"metachronous|synchronous",
    re.I,
)
_NOT_CANCER_RE = re.compile(
    r"^\s*(?:no|not|denies|negative for)\b|benign|metasta|family history|risk of|screening|"
    r"precancer|pre-cancer",
    re.I,
)


_EXCLUDED_RE = re.compile(
    r"\b(?:will be|are|is|be)\s+(?:excluded|ineligible|not eligible)\b|\bexcluded\s*$", re.I
)


def _other_primaries(p: PatientFacts) -> list[str]:
    """Malignancies recorded besides the index cancer (the diagnosis being matched).

    A recorded cancer counts only when it is distinct from the index one: a different site, a
    site-less cancer (basal cell skin) beside a sited index, or one recorded as a second primary.
    """
    index_sites = tumour_sites(" ".join(x for x in (p.diagnosis_text, p.oncotree_code) if x))
    found = []
    for entry in p.comorbidities:
        if not _CANCER_WORD_RE.search(entry) or _NOT_CANCER_RE.search(entry):
            continue
        sites = tumour_sites(entry)
        if _DISTINCT_PRIMARY_RE.search(entry) or (index_sites and not (sites & index_sites)):
            found.append(entry)
    return found


def _prior_malignancy(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    carve = set(c.terms)
    window = c.bound.high if c.bound is not None else None
    holds: list[str] = []
    open_questions: list[str] = []
    evidence: list[Evidence] = []
    for entry in _other_primaries(p):
        evidence.append(_ev("other malignancy", entry, source="comorbidities"))
        skin = SKIN_CANCER_RE.search(entry) and not re.search(r"melanoma", entry, re.I)
        skin = skin or (re.search(r"non-?\s?melanoma", entry, re.I) is not None)
        if skin and "except:skin" in carve:
            continue
        if IN_SITU_RE.search(entry) and "except:in_situ" in carve:
            continue
        if tumour_sites(entry) & {t.removeprefix("except:site:") for t in carve}:
            continue
        year = re.search(r"\b(19\d\d|20\d\d)\b", entry)
        if window is not None:
            if year is None:
                open_questions.append(f"record when {entry} was diagnosed")
                continue
            if p.as_of.year - int(year.group(1)) > window:
                continue
        if "except:cured" in carve:
            open_questions.append(
                f"confirm whether {entry} was treated with curative intent and has not recurred"
            )
            continue
        holds.append(entry)
    if c.inclusion and _EXCLUDED_RE.search(c.text):
        # "Patients with a second malignancy will be excluded" listed under inclusion.
        c = replace(c, present=not c.present)
    if holds:
        return _verdict(c, True, evidence, explanation="a malignancy other than the index cancer")
    if open_questions:
        return _verdict(c, None, evidence, resolver="; ".join(open_questions))
    if not o.medical_history_complete:
        return _verdict(c, None, resolver="record the history of other malignancies")
    why = (
        "the recorded malignancies fall under the criterion's exceptions or window"
        if evidence
        else "the diagnosis being matched is the index cancer, not another malignancy"
    )
    return _verdict(
        c,
        False,
        evidence or [_ev("other malignancy", "none recorded besides the index cancer")],
        explanation=why,
    )


def _permissive(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    return _not_applicable(c, "informational: the criterion permits, it does not require")


_HANDLERS = {
    CriterionKind.AGE: _age,
    CriterionKind.SEX: _sex,
    CriterionKind.PERFORMANCE_STATUS: _performance,
    CriterionKind.LAB: _lab,
    CriterionKind.BIOMARKER: _biomarker,
    CriterionKind.PRIOR_THERAPY: _prior_therapy,
    CriterionKind.WASHOUT: _washout,
    CriterionKind.BRAIN_METASTASES: _brain,
    CriterionKind.MEASURABLE_DISEASE: _measurable,
    CriterionKind.PREGNANCY: _pregnancy,
    CriterionKind.LIFE_EXPECTANCY: _life_expectancy,
    CriterionKind.CONDITION: _condition,
    CriterionKind.STAGE: _stage,
    CriterionKind.PRIOR_MALIGNANCY: _prior_malignancy,
    CriterionKind.PERMISSIVE: _permissive,
}


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
