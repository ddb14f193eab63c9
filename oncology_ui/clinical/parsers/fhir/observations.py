"""Observations: which mCODE fact each one is, and the staging, performance-status and
disease-status facts; genomics and measurements (biomarkers, labs) have their own modules.

An Observation is recognised by its LOINC code first and by its mCODE profile second, in this
order: stage group, TNM category, performance status, disease status, genomic variant, region
studied, tumour biomarker, and otherwise a lab result.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from oncology_ui.clinical.parsers.fhir.concepts import codings, display, first_coding
from oncology_ui.clinical.parsers.fhir.genomics import (
    is_genomic_variant,
    is_region_studied,
    region_studied_fact,
    variant_record,
)
from oncology_ui.clinical.parsers.fhir.measurements import (
    biomarker_of,
    biomarker_record,
    lab_record,
)
from oncology_ui.clinical.parsers.fhir.observed import Observed
from oncology_ui.clinical.parsers.fhir.records import Extraction, FactRecord
from oncology_ui.clinical.parsers.fhir.validation import CheckedResource

if TYPE_CHECKING:
    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.observation import Observation

STAGE_GROUP = {"21908-9": "clinical", "21902-2": "pathological"}
TNM_CATEGORY = {
    "21905-5": ("clinical", "T"),
    "21906-3": ("clinical", "N"),
    "21907-1": ("clinical", "M"),
    "21899-0": ("pathological", "T"),
    "21900-6": ("pathological", "N"),
    "21901-4": ("pathological", "M"),
}
TNM_PROFILES = (
    ("primary-tumor-category", "T"),
    ("regional-nodes-category", "N"),
    ("distant-metastases-category", "M"),
)
ECOG, KARNOFSKY = "89247-1", "89243-0"
DISEASE_STATUS = {"97509-4", "88040-1"}
RESPONSE_BY_STATUS = {
    "268910001": "PR",  # patient's condition improved
    "359746009": "SD",  # patient's condition stable
    "271299001": "PD",  # patient's condition worsened
    "709137006": "NE",  # patient condition undetermined
    "550991000124107": "CR",  # malignant neoplasm in full remission
    "551001000124108": "PR",  # malignant neoplasm in partial remission
}
_ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}


def observation_records(run: Extraction, checked: CheckedResource) -> None:
    """Add the facts, variant, biomarker or lab one Observation reports."""
    _check_focus(run, checked.model)
    seen = Observed(checked)
    fact = _stage_group(seen) or _tnm_category(seen) or _performance(seen) or _disease_status(seen)
    if fact is not None:
        run.contents.facts.append(fact)
    elif is_genomic_variant(seen):
        variant_record(run, seen)
    elif is_region_studied(seen):
        run.contents.facts.append(region_studied_fact(seen))
    elif (marker := biomarker_of(seen)) is not None:
        run.contents.biomarkers.append(biomarker_record(seen, marker))
    else:
        lab_record(run, seen)


def _check_focus(run: Extraction, resource: Observation) -> None:
    for focus in resource.focus or []:
        ref = str(focus.reference or "")
        if ref.startswith("urn:uuid:") and run.bundle.resolve(ref) is None:
            raise ValueError(f"its focus {ref[:60]} is not in the bundle")


def _stage_group(seen: Observed) -> FactRecord | None:
    stage_type = next((STAGE_GROUP[c] for c in seen.codes if c in STAGE_GROUP), None)
    if stage_type is None and "stage-group" in seen.profiles:
        stage_type = "pathological" if "pathological" in seen.profiles else "clinical"
    if stage_type is None:
        return None
    value = seen.values.concept
    return seen.fact(
        "stage_group",
        value_text=roman_stage(_cancer_staging_code(value) or display(value)),
        detail={"type": stage_type, "as_reported": display(value)[:100]},
    )


def _tnm_category(seen: Observed) -> FactRecord | None:
    tnm = next((TNM_CATEGORY[c] for c in seen.codes if c in TNM_CATEGORY), None)
    if tnm is None:
        letters = [letter for fragment, letter in TNM_PROFILES if fragment in seen.profiles]
        if not letters:
            return None
        pathological = "pathological" in seen.profiles or seen.display.startswith("p")
        tnm = ("pathological" if pathological else "clinical", letters[-1])
    return seen.fact(
        "tnm_category",
        value_text=tnm_value(seen.values.concept),
        detail={"type": tnm[0], "category": tnm[1]},
    )


def _performance(seen: Observed) -> FactRecord | None:
    if not (ECOG in seen.codes or KARNOFSKY in seen.codes or "performance-status" in seen.profiles):
        return None
    kind = "karnofsky" if KARNOFSKY in seen.codes or "karnofsky" in seen.profiles else "ecog"
    score = seen.values.integer
    if score is None:
        raise ValueError(f"{kind.upper()} needs an integer value")
    limit = 100 if kind == "karnofsky" else 5
    if not 0 <= score <= limit:
        raise ValueError(f"{kind.upper()} {score} is outside 0–{limit}")
    return seen.fact(
        kind,
        shown=seen.display[:200] or kind.upper(),
        value_number=score,
        value_text=str(score),
    )


def _disease_status(seen: Observed) -> FactRecord | None:
    if not (DISEASE_STATUS & set(seen.codes) or "disease-status" in seen.profiles):
        return None
    value = seen.values.concept
    code = first_coding(value)[1]
    return seen.fact(
        "disease_status",
        code=code[:40],
        value_text=display(value)[:200],
        detail={"response": RESPONSE_BY_STATUS.get(code, "NE")},
    )


def _cancer_staging_code(concept: CodeableConcept | None) -> str:
    return next(
        (
            str(c.code)
            for c in codings(concept)
            if "cancerstaging" in str(c.system or "") and c.code
        ),
        "",
    )


def roman_stage(text: str) -> str:
    """``c3A`` / ``Stage 3A (qualifier value)`` / ``IIIA`` -> ``IIIA``."""
    cleaned = re.sub(r"(?i)\(qualifier value\)|stage|ajcc", "", text).strip()
    cleaned = re.sub(r"^[cpy]", "", cleaned)
    match = re.match(r"^([0-4])([A-D]?\d?)$", cleaned, re.IGNORECASE)
    if match:
        return _ROMAN[match.group(1)] + match.group(2).upper()
    match = re.match(r"^(0|IV|I{1,3})([A-D]?\d?)$", cleaned, re.IGNORECASE)
    return (match.group(1).upper() + match.group(2).upper()) if match else cleaned[:20]


def tnm_value(concept: CodeableConcept | None) -> str:
    """``cT3`` from a cancerstaging.org coding, or the T/N/M category found in the display."""
    code = _cancer_staging_code(concept)
    if code:
        return code[:10]
    text = display(concept)
    match = re.search(r"\b([cpy]?[TNM](?:is|X|[0-4])(?:[a-d]|mi)?)\b", text)
    return match.group(1)[:10] if match else text[:10]
