"""The case's rows -> the engine's :class:`PatientState` (and what was used and missing)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from inference.therapy import types as t
from inference.therapy.safety import LAB_NAMES
from oncology_ui.clinical.models import Biomarker, ClinicalFact, Variant
from oncology_ui.clinical.parsers.annotate import variant_query
from oncology_ui.clinical.selectors import labs_latest
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.vocabularies import oncotree_lineage

SAFETY_LABS = ("neutrophils", "platelets", "hemoglobin", "crcl_cg", "bilirubin", "ast", "alt")
_SPLIT = re.compile(r"\s*(?:\+|/|,|;|&|\band\b|\bwith\b|\bplus\b)\s*", re.IGNORECASE)
_LIVER = ("liver", "hepatic")


@dataclass(frozen=True)
class StateReport:
    state: t.PatientState
    used: tuple[str, ...]
    missing: tuple[str, ...]


def regimen_drugs(regimen: str, kb: t.KnowledgeBase) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"FOLFOX + bevacizumab"`` -> (normalised drugs, words not recognised)."""
    acronyms = {r.name.lower(): r for r in kb.regimens}
    for regimen_ in kb.regimens:
        for synonym in regimen_.synonyms:
            acronyms[synonym] = regimen_
    drugs: list[str] = []
    unknown: list[str] = []
    for chunk in _SPLIT.split(regimen.strip()):
        word = chunk.strip().lower()
        if not word:
            continue
        if word in acronyms:
            drugs.extend(acronyms[word].drugs)
        elif (drug := kb.drug(word)) is not None:
            drugs.append(drug.name)
        else:
            unknown.append(chunk.strip())
    return tuple(dict.fromkeys(drugs)), tuple(unknown)


def _finding(variant: Variant) -> t.Finding:
    """The variant as the molecular table's annotation sees it (one matcher, one reading)."""
    query = variant_query(
        gene=variant.gene or variant.gene_as_reported.upper(),
        kind=variant.kind,
        protein_short=variant.protein_short,
        consequence=variant.consequence,
        copy_number_level=variant.copy_number_level,
        partner_gene=variant.partner_gene,
    )
    return query.finding(label=variant.label, gene_known=bool(variant.gene))


@dataclass
class _Inputs:
    """What was used and what was missing, in the order the section lists them."""

    used: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def note(self, present: bool, used: str, missing: str) -> None:
        (self.used if present else self.missing).append(used if present else missing)


def patient_state(
    case: Case, kb: t.KnowledgeBase, *, snapshot: dict[str, Any], today: date
) -> StateReport:
    """Everything the engine may know of the case, from the existing selectors and rows.

    ``snapshot`` is :func:`oncology_ui.analysis.adapters.case_snapshot` of the case: the genes
    studied and the biomarker statuses come from there, so both features read the record alike.
    """
    inputs = _Inputs()
    lineage = oncotree_lineage(case.oncotree_code) or ()
    inputs.note(
        bool(lineage),
        f"diagnosis (OncoTree {case.oncotree_code})",
        f"diagnosis: “{case.oncotree_code}” is not an OncoTree code",
    )
    inputs.note(
        bool(case.stage_group),
        f"stage {case.stage_group}",
        "stage group (setting of the guideline rules not confirmed)",
    )
    findings, tested = _molecular(case, snapshot, inputs)
    provenance = snapshot.get("provenance") or {}
    biomarkers = _biomarkers(case, provenance, inputs)
    labs = _safety_labs(case, inputs)
    ecog, ecog_on = case.ecog, case.ecog_date
    if ecog is None and provenance.get("ecog") is not None:
        ecog = int(provenance["ecog"])
        ecog_on = (
            date.fromisoformat(provenance["ecog_date"]) if provenance.get("ecog_date") else None
        )
    (inputs.used if ecog is not None else inputs.missing).append("ECOG performance status")
    prior = _prior_lines(case, kb)
    inputs.used.append(f"{len(prior)} prior systemic line(s) from the timeline")
    history = _history(case, today, inputs)
    state = t.PatientState(
        today=today,
        oncotree_code=case.oncotree_code,
        lineage=lineage,
        stage_group=case.stage_group,
        sex=case.patient.sex,
        age=case.patient.age_on(today),
        findings=findings,
        tested_genes=tested,
        biomarkers=biomarkers,
        labs=labs,
        ecog=ecog,
        ecog_on=ecog_on,
        prior_lines=prior,
        conditions=history.conditions,
        medications=history.medications,
        pregnant=history.pregnant,
        liver_metastases=history.liver_metastases,
    )
    return StateReport(state=state, used=tuple(inputs.used), missing=tuple(inputs.missing))


def _molecular(
    case: Case, snapshot: dict[str, Any], inputs: _Inputs
) -> tuple[tuple[t.Finding, ...], frozenset[str]]:
    """The case's variants as findings, and every gene studied (with or without a variant)."""
    findings = tuple(_finding(v) for v in Variant.objects.filter(case=case))
    molecular = snapshot.get("molecular") or {}
    tested = set(molecular.get("mutations", {})) | set(molecular.get("copy_number", {}))
    tested |= {f.gene for f in findings} | {f.partner_gene for f in findings if f.partner_gene}
    inputs.note(
        bool(findings),
        f"{len(findings)} variant(s)",
        "molecular profile (no variants, copy-number changes or fusions recorded)",
    )
    return findings, frozenset(g for g in tested if g)


def _biomarkers(
    case: Case, provenance: dict[str, Any], inputs: _Inputs
) -> tuple[tuple[str, str], ...]:
    markers = provenance.get("biomarkers") or {
        b.name: {"status": b.status}
        for b in Biomarker.objects.filter(case=case).order_by("measured_on", "id")
    }
    biomarkers = tuple(
        (name, str(info.get("status") or "")) for name, info in sorted(markers.items())
    )
    inputs.note(
        bool(biomarkers),
        "biomarkers: " + ", ".join(f"{n} {s or 'status not given'}" for n, s in biomarkers),
        "biomarkers (ER, PR, HER2, PD-L1, MSI, MMR)",
    )
    return biomarkers


def _safety_labs(case: Case, inputs: _Inputs) -> tuple[t.LabValue, ...]:
    """The latest value of each lab the safety gate checks."""
    labs = tuple(
        t.LabValue(
            key=result.analyte_key,
            name=result.name,
            value=result.value,
            unit=result.unit,
            observed_on=result.collected_at.date(),
            ref_high=result.ref_high,
        )
        for result in labs_latest(case)
        if result.analyte_key in SAFETY_LABS
    )
    have = {lab.key for lab in labs}
    # Clinicians read "Creatinine clearance", not the analyte key "crcl_cg".
    if labs:
        inputs.used.append("labs: " + ", ".join(LAB_NAMES.get(key, key) for key in sorted(have)))
    absent = [key for key in SAFETY_LABS if key not in have]
    if absent:
        inputs.missing.append("labs: " + ", ".join(LAB_NAMES.get(key, key) for key in absent))
    return labs


def _prior_lines(case: Case, kb: t.KnowledgeBase) -> tuple[t.PriorLine, ...]:
    prior = []
    events = case.events.filter(kind=TimelineEvent.Kind.SYSTEMIC_THERAPY).order_by("date", "id")
    for event in events:
        drugs, unknown = regimen_drugs(event.regimen, kb)
        prior.append(
            t.PriorLine(
                regimen=event.regimen,
                drugs=drugs,
                unknown_words=unknown,
                line_number=event.line_number,
                started=event.date,
                ended=event.end_date,
                stop_reason=event.stop_reason,
            )
        )
    return tuple(prior)


@dataclass(frozen=True)
class _History:
    conditions: tuple[t.DatedText, ...] | None
    medications: tuple[t.DatedText, ...] | None
    pregnant: bool | None
    liver_metastases: bool | None


def _history(case: Case, today: date, inputs: _Inputs) -> _History:
    """Recorded conditions, current medications, pregnancy and liver metastases (FHIR facts);
    None where the record holds nothing, so the safety gate says it could not check."""
    facts = list(
        ClinicalFact.objects.filter(
            case=case, kind__in=["comorbidity", "medication", "secondary_cancer"]
        ).order_by("date", "id")
    )
    condition_rows = [f for f in facts if f.kind == "comorbidity"]
    conditions = (
        tuple(t.DatedText(f.display, f.date) for f in condition_rows) if condition_rows else None
    )
    medication_rows = [
        f for f in facts if f.kind == "medication" and (f.end_date is None or f.end_date >= today)
    ]
    medications = (
        tuple(t.DatedText(f.value_text or f.display, f.date) for f in medication_rows)
        if any(f.kind == "medication" for f in facts)
        else None
    )
    inputs.note(
        conditions is not None,
        f"{len(conditions or ())} recorded condition(s)",
        "conditions (comorbidities, recent bleeding): none recorded",
    )
    inputs.note(
        medications is not None,
        f"{len(medications or ())} current medication(s)",
        "current medications: none recorded",
    )
    pregnant = True if conditions and any("pregnan" in c.text.lower() for c in conditions) else None
    if pregnant is None and case.patient.sex == "female":
        inputs.missing.append("pregnancy status: the record has no field for it")
    liver = None
    for fact in facts:
        text = f"{fact.display} {fact.detail.get('body_site', '')}".lower()
        if fact.kind == "secondary_cancer" and any(word in text for word in _LIVER):
            liver = True
    if liver is None:
        inputs.missing.append("liver metastases: not recorded (stricter AST/ALT limits apply)")
    return _History(conditions, medications, pregnant, liver)
