"""Checks on the disease: condition, stage, other (prior) malignancies, permissive criteria."""

from __future__ import annotations

import re
from dataclasses import replace

from inference.trials.eligibility.common import (
    Check,
    EligibilityOptions,
    evidence_of,
    is_stale,
    make_verdict,
    not_applicable_verdict,
)
from inference.trials.extract.disease import IN_SITU_RE, SKIN_CANCER_RE
from inference.trials.lexicon import tumour_sites
from inference.trials.schema import (
    IN_SITU_TERM,
    Criterion,
    CriterionKind,
    CriterionVerdict,
    Evidence,
    PatientFacts,
)

_STAGE_ORDER = ("0", "I", "II", "III", "IV")


def _condition(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    diagnosis = " ".join(x for x in (p.diagnosis_text, p.oncotree_code) if x)
    if not diagnosis:
        return make_verdict(c, None, resolver="record the diagnosis")
    patient_sites = tumour_sites(diagnosis)
    wanted = set(c.terms)
    evidence = [evidence_of("diagnosis", diagnosis)]
    if IN_SITU_TERM in wanted:
        # An in-situ trial: the diagnosis must be in situ too; an invasive one is not.
        return make_verdict(c, IN_SITU_RE.search(diagnosis) is not None, evidence)
    if patient_sites & wanted:
        return make_verdict(c, True, evidence)
    if patient_sites:
        return make_verdict(c, False, evidence)
    return make_verdict(c, None, evidence, resolver="record the tumour type (OncoTree code)")


def _stage(c: Criterion, p: PatientFacts, o: EligibilityOptions) -> CriterionVerdict:
    if p.stage is None:
        return make_verdict(c, None, resolver="record the stage")
    stage = p.stage.value.upper().replace("STAGE", "").strip()
    evidence = [evidence_of("stage", stage, p.stage.date, p.stage.source)]
    if is_stale(p.stage.date, p.as_of, o.policy.stage_days):
        return make_verdict(c, None, evidence, resolver="restage the disease (stage is stale)")
    group = re.sub(r"[ABC123]", "", stage)
    unknown = False
    for term in c.terms:
        if term == "metastatic":
            if group == "IV":
                return make_verdict(c, True, evidence)
            continue
        if term == "locally advanced":
            if group == "III":
                return make_verdict(c, True, evidence)
            unknown = unknown or group == "II"
            continue
        term_group = re.sub(r"[ABC123]", "", term)
        if term == stage or (term == term_group and term_group == group):
            return make_verdict(c, True, evidence)
        if term_group == group and stage == group:
            unknown = True  # "IIIB" asked, patient recorded as "III"
    if unknown:
        return make_verdict(c, None, evidence, resolver="record the stage with its sub-group")
    return make_verdict(c, group in _STAGE_ORDER and False, evidence)


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
        evidence.append(evidence_of("other malignancy", entry, source="comorbidities"))
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
        return make_verdict(
            c, True, evidence, explanation="a malignancy other than the index cancer"
        )
    if open_questions:
        return make_verdict(c, None, evidence, resolver="; ".join(open_questions))
    if not o.medical_history_complete:
        return make_verdict(c, None, resolver="record the history of other malignancies")
    why = (
        "the recorded malignancies fall under the criterion's exceptions or window"
        if evidence
        else "the diagnosis being matched is the index cancer, not another malignancy"
    )
    return make_verdict(
        c,
        False,
        evidence or [evidence_of("other malignancy", "none recorded besides the index cancer")],
        explanation=why,
    )


def _permissive(c: Criterion, p: PatientFacts, _: EligibilityOptions) -> CriterionVerdict:
    return not_applicable_verdict(c, "informational: the criterion permits, it does not require")


CHECKS: dict[CriterionKind, Check] = {
    CriterionKind.CONDITION: _condition,
    CriterionKind.STAGE: _stage,
    CriterionKind.PRIOR_MALIGNANCY: _prior_malignancy,
    CriterionKind.PERMISSIVE: _permissive,
}
