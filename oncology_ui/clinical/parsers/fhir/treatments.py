"""Treatments: medications (statements, requests, administrations) and procedures."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from oncology_ui.clinical.parsers.fhir.concepts import (
    code_text,
    display,
    joined_displays,
    profiles,
    when,
)
from oncology_ui.clinical.parsers.fhir.records import Extraction, coded_fact
from oncology_ui.clinical.parsers.fhir.validation import CheckedResource

if TYPE_CHECKING:
    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.procedure import Procedure

_DOSE_FORM = re.compile(
    r"(?i)\b(oral product|injectable product|injection|oral tablet|oral capsule|tablet|"
    r"capsule|solution|product)\b"
)
_RADIOTHERAPY = re.compile(r"radiat|radiotherap|brachytherap")


def medication_fact(run: Extraction, checked: CheckedResource) -> None:
    """Add a MedicationStatement, MedicationRequest or MedicationAdministration as a fact.

    The three share ``medication[x]`` and ``status``; the date is when it was taken or given,
    or when it was ordered.
    """
    resource: Any = checked.model
    concept = _medication_concept(run, resource)
    if concept is None:
        return
    name = display(concept)
    if not name:
        raise ValueError("names no medication")
    start, end = when(resource, "effectiveDateTime", "effectivePeriod", "authoredOn")
    if start is None:
        raise ValueError("has no date (effective[x] or authoredOn)")
    run.contents.facts.append(
        coded_fact(
            resource,
            "medication",
            concept,
            start=start,
            end=end,
            value_text=drug_name(name),
            detail={
                "resource": resource.get_resource_type(),
                "status": str(resource.status or ""),
            },
        )
    )


def _medication_concept(run: Extraction, resource: Any) -> CodeableConcept | None:
    """The medication's concept, following ``medicationReference`` into the bundle.

    ``None`` when the referenced Medication is itself invalid: its own problem is reported.
    """
    if resource.medicationCodeableConcept is not None or resource.medicationReference is None:
        return resource.medicationCodeableConcept
    reference = str(resource.medicationReference.reference or "")
    target = run.bundle.resolve(reference)
    if target is None:
        raise ValueError(f"its medicationReference {reference[:60]} is not in the bundle")
    medication = target.check().model
    return getattr(medication, "code", None) if medication is not None else None


def procedure_fact(run: Extraction, checked: CheckedResource) -> None:
    """Add a procedure as surgery or radiotherapy (by mCODE profile, else by its name)."""
    procedure: Procedure = checked.model
    declared = profiles(procedure)
    text = (display(procedure.code) + " " + code_text(procedure.code)).lower()
    if "surgical-procedure" in declared:
        kind = "surgery"
    elif "radiation-procedure" in declared or _RADIOTHERAPY.search(text):
        kind = "radiotherapy"
    else:
        kind = "surgery"
    start, end = when(procedure, "performedDateTime", "performedPeriod")
    if start is None:
        raise ValueError("has no performed date")
    run.contents.facts.append(
        coded_fact(
            procedure,
            kind,
            procedure.code,
            start=start,
            end=end,
            detail={"body_site": joined_displays(procedure.bodySite)},
        )
    )


def drug_name(display_text: str) -> str:
    """``Paclitaxel 6 MG/ML Injectable Solution`` -> ``Paclitaxel``."""
    name = re.split(r"\s+\d", display_text.strip(), maxsplit=1)[0]
    name = _DOSE_FORM.sub("", name)
    return " ".join(name.split()).strip(" ,").capitalize() or display_text[:60]
