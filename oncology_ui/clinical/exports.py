"""The case's imported facts written back as a FHIR R4 collection Bundle (mCODE profiles).

Built as a background job; every resource is validated with ``fhir.resources`` before the file is
written, so the export is valid FHIR or it fails with a message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

from oncology_ui.clinical.models import Biomarker, ClinicalFact, LabResult, Variant
from oncology_ui.clinical.parsers.fhir.observations import (
    ECOG,
    KARNOFSKY,
    STAGE_GROUP,
    TNM_CATEGORY,
)
from oncology_ui.core.jobs import PermanentJobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case

EXPORT_JOB = "clinical_fhir_export"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
_BIOMARKER_LOINC = {
    ("ER", "IHC"): (
        "85337-4",
        "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain",
    ),
    ("PR", "IHC"): (
        "85339-0",
        "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain",
    ),
    ("HER2", "IHC"): ("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain"),
    ("HER2", "ISH"): ("85318-4", "HER2 [Presence] in Breast cancer specimen by FISH"),
    ("MSI", ""): (
        "81695-9",
        "Microsatellite instability [Interpretation] in Cancer specimen Qualitative",
    ),
    ("TMB", ""): ("94076-7", "Mutations/Megabase [# Ratio] in Tumor"),
}
_STATUS_SNOMED = {
    "positive": ("10828004", "Positive (qualifier value)"),
    "negative": ("260385009", "Negative (qualifier value)"),
    "equivocal": ("42425007", "Equivocal (qualifier value)"),
}


def export_path(job: Job) -> str:
    return f"exports/clinical-fhir-case-{job.target_id}-job-{job.pk}.json"


def fhir_export_request(*, case: Case, user: object) -> Job:
    return job_enqueue(kind=EXPORT_JOB, target=case, user=user, message="FHIR export queued")


# The import reads these codes; the export writes the same ones back.
_STAGE_GROUP_LOINC = {stage_type: code for code, stage_type in STAGE_GROUP.items()}
_TNM_CATEGORY_LOINC = {category: code for code, category in TNM_CATEGORY.items()}
#: Fact kinds exported as an observation of one fixed LOINC code: (code, display, mCODE profile).
_FIXED_CODE_OBSERVATIONS = {
    "ecog": (ECOG, "", "mcode-ecog-performance-status"),
    "karnofsky": (KARNOFSKY, "", "mcode-karnofsky-performance-status"),
    "disease_status": ("97509-4", "Cancer disease progression", "mcode-cancer-disease-status"),
    "genomic_region": ("53041-0", "DNA region of interest panel", "mcode-genomic-region-studied"),
}


def _concept(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _text(text: str) -> dict[str, Any]:
    return {"text": text}


def _observation(
    ident: str, subject: str, code: dict[str, Any], when: str | None, profile: str = ""
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": code,
        "subject": {"reference": subject},
    }
    if profile:
        resource["meta"] = {"profile": [MCODE + profile]}
    if when:
        resource["effectiveDateTime"] = when
    return resource


def case_bundle(case: Case) -> dict[str, Any]:
    """The FHIR collection Bundle of the case's imported facts."""
    patient = case.patient
    subject = f"Patient/patient-{patient.pk}"
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": f"patient-{patient.pk}",
            "meta": {"profile": [MCODE + "mcode-cancer-patient"]},
            "identifier": [{"system": f"urn:oncoboard:mrn:{patient.site}", "value": patient.mrn}],
            "gender": patient.sex,
            "birthDate": patient.birth_date.isoformat(),
        }
    ]
    primary = f"Condition/case-{case.pk}"
    resources.append(
        {
            "resourceType": "Condition",
            "id": f"case-{case.pk}",
            "meta": {"profile": [MCODE + "mcode-primary-cancer-condition"]},
            "code": {
                "coding": [
                    {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": case.icd10_code}
                ],
                "text": case.primary_diagnosis,
            },
            "subject": {"reference": subject},
            "onsetDateTime": case.diagnosis_date.isoformat(),
        }
    )
    for fact in ClinicalFact.objects.filter(case=case).order_by("date", "id"):
        resources.extend(_fact_resources(fact, subject, primary))
    for lab in LabResult.objects.filter(case=case).order_by("collected_at", "id"):
        resources.append(_lab_resource(lab, subject))
    for marker in Biomarker.objects.filter(case=case).order_by("measured_on", "id"):
        resources.append(_biomarker_resource(marker, subject, primary))
    for variant in Variant.objects.filter(case=case).order_by("id"):
        resources.append(_variant_resource(variant, subject))
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:oncoboard:{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }


def _when(value: object) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None


def _fact_resources(fact: ClinicalFact, subject: str, primary: str) -> list[dict[str, Any]]:
    ident = f"fact-{fact.pk}"
    code = (
        _concept(fact.code_system, fact.code, fact.display)
        if fact.code and fact.code_system
        else _text(fact.display or fact.kind)
    )
    when = _when(fact.date)
    if fact.kind in {"primary_cancer", "secondary_cancer", "comorbidity"}:
        profile = {
            "primary_cancer": "mcode-primary-cancer-condition",
            "secondary_cancer": "mcode-secondary-cancer-condition",
            "comorbidity": "mcode-comorbid-condition",
        }[fact.kind]
        condition: dict[str, Any] = {
            "resourceType": "Condition",
            "id": ident,
            "meta": {"profile": [MCODE + profile]},
            "code": code,
            "subject": {"reference": subject},
        }
        if when:
            condition["onsetDateTime"] = when
        if fact.detail.get("histology"):
            condition["extension"] = [
                {
                    "url": MCODE + "mcode-histology-morphology-behavior",
                    "valueCodeableConcept": _text(fact.detail["histology"]),
                }
            ]
        if fact.detail.get("body_site"):
            condition["bodySite"] = [_text(fact.detail["body_site"])]
        return [condition]
    if fact.kind == "stage_group":
        stage_type = fact.detail.get("type", "clinical")
        loinc = _STAGE_GROUP_LOINC.get(stage_type, _STAGE_GROUP_LOINC["pathological"])
        observation = _observation(
            ident,
            subject,
            _concept(LOINC, loinc, f"Stage group.{stage_type} Cancer"),
            when,
            f"mcode-tnm-{stage_type}-stage-group",
        )
        observation["valueCodeableConcept"] = _text(fact.value_text)
        observation["focus"] = [{"reference": primary}]
        return [observation]
    if fact.kind == "tnm_category":
        stage_type, letter = fact.detail.get("type", "clinical"), fact.detail.get("category", "T")
        loinc = _TNM_CATEGORY_LOINC[(stage_type, letter)]
        observation = _observation(ident, subject, _concept(LOINC, loinc, fact.display), when)
        observation["valueCodeableConcept"] = _text(fact.value_text)
        return [observation]
    if fact.kind in _FIXED_CODE_OBSERVATIONS:
        loinc, display, profile = _FIXED_CODE_OBSERVATIONS[fact.kind]
        observation = _observation(ident, subject, _concept(LOINC, loinc, display), when, profile)
        if fact.kind == "disease_status":
            observation["valueCodeableConcept"] = (
                _concept(SNOMED, fact.code, fact.value_text)
                if fact.code
                else _text(fact.value_text)
            )
        elif fact.kind == "genomic_region":
            observation["component"] = [
                {
                    "code": _concept(LOINC, "48018-6", "Gene studied [ID]"),
                    "valueCodeableConcept": _text(g),
                }
                for g in fact.detail.get("genes", [])
            ]
        else:
            observation["valueInteger"] = int(fact.value_number or 0)
        return [observation]
    if fact.kind == "medication":
        statement: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": ident,
            "meta": {"profile": [MCODE + "mcode-cancer-related-medication-statement"]},
            "status": "completed",
            "medicationCodeableConcept": code,
            "subject": {"reference": subject},
        }
        if fact.end_date and fact.date:
            statement["effectivePeriod"] = {"start": when, "end": fact.end_date.isoformat()}
        elif when:
            statement["effectiveDateTime"] = when
        return [statement]
    if fact.kind in {"surgery", "radiotherapy"}:
        profile = (
            "mcode-cancer-related-surgical-procedure"
            if fact.kind == "surgery"
            else "mcode-cancer-related-radiation-procedure"
        )
        procedure: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": ident,
            "meta": {"profile": [MCODE + profile]},
            "status": "completed",
            "code": code,
            "subject": {"reference": subject},
            "reasonReference": [{"reference": primary}],
        }
        if fact.end_date and fact.date:
            procedure["performedPeriod"] = {"start": when, "end": fact.end_date.isoformat()}
        elif when:
            procedure["performedDateTime"] = when
        return [procedure]
    return []


def _lab_resource(lab: LabResult, subject: str) -> dict[str, Any]:
    code = _concept(LOINC, lab.loinc, lab.name) if lab.loinc else _text(lab.name)
    profile = "mcode-tumor-marker-test" if lab.category == "tumour_marker" else ""
    observation = _observation(
        f"lab-{lab.pk}", subject, code, lab.collected_at.isoformat(), profile
    )
    observation["category"] = [
        _concept("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")
    ]
    if lab.value is not None:
        quantity: dict[str, Any] = {"value": lab.value, "unit": lab.unit}
        if lab.unit:
            quantity.update({"system": UCUM, "code": lab.unit})
        if lab.comparator:
            quantity["comparator"] = lab.comparator
        observation["valueQuantity"] = quantity
    else:
        observation["valueString"] = lab.value_text
    reference = {
        bound: {"value": limit, "unit": lab.unit, "system": UCUM, "code": lab.unit}
        for bound, limit in (("low", lab.ref_low), ("high", lab.ref_high))
        if limit is not None
    }
    if reference:
        observation["referenceRange"] = [reference]
    if lab.flag:
        observation["interpretation"] = [
            _concept(
                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                lab.flag,
                "Low" if lab.flag == "L" else "High",
            )
        ]
    notes = []
    if lab.formula:
        notes.append(f"Derived: {lab.formula}")
    if lab.unit_original and (lab.unit_original != lab.unit or lab.value_text != f"{lab.value:g}"):
        notes.append(f"As reported: {lab.value_text} {lab.unit_original}")
    if notes:
        observation["note"] = [{"text": note} for note in notes]
    return observation


def _biomarker_resource(marker: Biomarker, subject: str, primary: str) -> dict[str, Any]:
    code_key = (marker.name, marker.method if marker.name in {"ER", "PR", "HER2"} else "")
    loinc = _BIOMARKER_LOINC.get(code_key)
    code = _concept(LOINC, *loinc) if loinc else _text(f"{marker.name} {marker.method}".strip())
    observation = _observation(
        f"biomarker-{marker.pk}",
        subject,
        code,
        _when(marker.measured_on),
        "mcode-tumor-marker-test",
    )
    observation["focus"] = [{"reference": primary}]
    status = _STATUS_SNOMED.get(marker.status)
    if status:
        observation["valueCodeableConcept"] = _concept(SNOMED, *status)
    elif marker.value_number is not None:
        observation["valueQuantity"] = {"value": marker.value_number, "unit": marker.unit or "1"}
    else:
        observation["valueString"] = marker.value_text or marker.status
    if marker.value_text and status:
        observation["note"] = [{"text": f"Score: {marker.value_text} {marker.unit}".strip()}]
    return observation


def _variant_resource(variant: Variant, subject: str) -> dict[str, Any]:
    observation = _observation(
        f"variant-{variant.pk}",
        subject,
        _concept(LOINC, "69548-6", "Genetic variant assessment"),
        _when(variant.reported_on),
        "mcode-cancer-genetic-variant",
    )
    observation["valueCodeableConcept"] = _concept(LOINC, "LA9633-4", "Present")
    components: list[dict[str, Any]] = []
    if variant.gene:
        components.append(
            {
                "code": _concept(LOINC, "48018-6", "Gene studied [ID]"),
                "valueCodeableConcept": _text(variant.gene),
            }
        )
    if variant.protein_long:
        components.append(
            {
                "code": _concept(LOINC, "48005-3", "Amino acid change (pHGVS)"),
                "valueCodeableConcept": _concept("http://varnomen.hgvs.org", variant.protein_long),
            }
        )
    if variant.hgvs_c:
        components.append(
            {
                "code": _concept(LOINC, "48004-6", "DNA change (c.HGVS)"),
                "valueCodeableConcept": _concept("http://varnomen.hgvs.org", variant.hgvs_c),
            }
        )
    if variant.vaf is not None:
        components.append(
            {
                "code": _concept(LOINC, "81258-6", "Sample variant allelic frequency [NFr]"),
                "valueQuantity": {"value": variant.vaf},
            }
        )
    components.append(
        {
            "code": _concept(LOINC, "48002-0", "Genomic source class [Type]"),
            "valueCodeableConcept": _concept(
                LOINC,
                *(
                    ("LA6683-2", "Germline")
                    if variant.origin == "germline"
                    else ("LA6684-0", "Somatic")
                ),
            ),
        }
    )
    if variant.kind != Variant.Kind.MUTATION:
        components.append(
            {"code": _text("Structural change"), "valueCodeableConcept": _text(variant.label)}
        )
    observation["component"] = components
    return observation


def fhir_export_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Write the bundle file for the job's case; rewrites the same file if run twice."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    case = Case.objects.select_related("patient").get(pk=job.target_id)
    bundle = case_bundle(case)
    progress(60, f"Validating {len(bundle['entry'])} resources")
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PermanentJobError(
            f"The export would not be valid FHIR ({'.'.join(str(p) for p in first['loc'])}: "
            f"{first['msg']})."
        ) from None
    path = Path(settings.MEDIA_ROOT) / export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(bundle, indent=1, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)
    progress(100, "Export ready")
    return {"file": export_path(job), "resources": len(bundle["entry"])}
