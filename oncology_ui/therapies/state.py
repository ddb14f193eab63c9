"""The case's rows -> the engine's :class:`PatientState` (and what was used and missing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from oncology_ui.clinical.models import Biomarker, ClinicalFact, Variant
from oncology_ui.clinical.parsers.genes import HgvsError, normalise_protein_change
from oncology_ui.clinical.selectors import labs_latest
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.vocabularies import oncotree_lineage
from oncology_ui.therapies.engine import types as t
from oncology_ui.therapies.engine.safety import LAB_NAMES

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
    gene = variant.gene or variant.gene_as_reported.upper()
    if variant.kind == Variant.Kind.FUSION:
        return t.Finding(
            gene=gene,
            kind="fusion",
            label=variant.label,
            partner_gene=variant.partner_gene.upper(),
            gene_known=bool(variant.gene),
        )
    if variant.kind == Variant.Kind.COPY_NUMBER:
        return t.Finding(
            gene=gene,
            kind="copy_number",
            label=variant.label,
            copy_number_level=variant.copy_number_level,
            gene_known=bool(variant.gene),
        )
    key = codon = ""
    position = None
    truncating = silent = deletion = False
    if variant.protein_short:
        try:
            change = normalise_protein_change(variant.protein_short)
        except HgvsError:
            change = None
        if change is not None:
            key, codon = change.key, change.codon
            truncating, silent = change.is_truncating, change.is_silent
            body = change.short.removeprefix("p.")
            deletion = "del" in body and "fs" not in body
            digits = re.search(r"\d+", body)
            position = int(digits.group()) if digits else None
    return t.Finding(
        gene=gene,
        kind="mutation",
        label=variant.label,
        protein_key=key,
        codon=codon,
        position=position,
        is_deletion=deletion,
        truncating=truncating,
        silent=silent,
        gene_known=bool(variant.gene),
    )


def patient_state(
    case: Case, kb: t.KnowledgeBase, *, snapshot: dict[str, Any], today: date
) -> StateReport:
    """Everything the engine may know of the case, from the existing selectors and rows.

    ``snapshot`` is :func:`oncology_ui.analysis.adapters.case_snapshot` of the case: the genes
    studied and the biomarker statuses come from there, so both features read the record alike.
    """
    used: list[str] = []
    missing: list[str] = []
    lineage = oncotree_lineage(case.oncotree_code) or ()
    if lineage:
        used.append(f"diagnosis (OncoTree {case.oncotree_code})")
    else:
        missing.append(f"diagnosis: “{case.oncotree_code}” is not an OncoTree code")
    if case.stage_group:
        used.append(f"stage {case.stage_group}")
    else:
        missing.append("stage group (setting of the guideline rules not confirmed)")

    variants = list(Variant.objects.filter(case=case))
    findings = tuple(_finding(v) for v in variants)
    molecular = snapshot.get("molecular") or {}
    tested = set(molecular.get("mutations", {})) | set(molecular.get("copy_number", {}))
    tested |= {f.gene for f in findings} | {f.partner_gene for f in findings if f.partner_gene}
    if findings:
        used.append(f"{len(findings)} variant(s)")
    else:
        missing.append("molecular profile (no variants, copy-number changes or fusions recorded)")

    provenance = snapshot.get("provenance") or {}
    markers = provenance.get("biomarkers") or {
        b.name: {"status": b.status}
        for b in Biomarker.objects.filter(case=case).order_by("measured_on", "id")
    }
    biomarkers = tuple(
        (name, str(info.get("status") or "")) for name, info in sorted(markers.items())
    )
    if biomarkers:
        used.append(
            "biomarkers: " + ", ".join(f"{n} {s or 'status not given'}" for n, s in biomarkers)
        )
    else:
        missing.append("biomarkers (ER, PR, HER2, PD-L1, MSI, MMR)")

    labs = []
    for result in labs_latest(case):
        if result.analyte_key in SAFETY_LABS:
            labs.append(
                t.LabValue(
                    key=result.analyte_key,
                    name=result.name,
                    value=result.value,
                    unit=result.unit,
                    observed_on=result.collected_at.date(),
                    ref_high=result.ref_high,
                )
            )
    have = {lab.key for lab in labs}
    # Clinicians read "Creatinine clearance", not the analyte key "crcl_cg".
    if labs:
        used.append("labs: " + ", ".join(LAB_NAMES.get(key, key) for key in sorted(have)))
    absent = [key for key in SAFETY_LABS if key not in have]
    if absent:
        missing.append("labs: " + ", ".join(LAB_NAMES.get(key, key) for key in absent))

    ecog, ecog_on = case.ecog, case.ecog_date
    if ecog is None and provenance.get("ecog") is not None:
        ecog = int(provenance["ecog"])
        ecog_on = (
            date.fromisoformat(provenance["ecog_date"]) if provenance.get("ecog_date") else None
        )
    (used if ecog is not None else missing).append("ECOG performance status")

    prior = []
    for event in case.events.filter(kind=TimelineEvent.Kind.SYSTEMIC_THERAPY).order_by(
        "date", "id"
    ):
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
    used.append(f"{len(prior)} prior systemic line(s) from the timeline")

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
    if conditions is None:
        missing.append("conditions (comorbidities, recent bleeding): none recorded")
    else:
        used.append(f"{len(conditions)} recorded condition(s)")
    if medications is None:
        missing.append("current medications: none recorded")
    else:
        used.append(f"{len(medications)} current medication(s)")
    pregnant = True if conditions and any("pregnan" in c.text.lower() for c in conditions) else None
    if pregnant is None and case.patient.sex == "female":
        missing.append("pregnancy status: the record has no field for it")
    liver = None
    for fact in facts:
        text = f"{fact.display} {fact.detail.get('body_site', '')}".lower()
        if fact.kind == "secondary_cancer" and any(word in text for word in _LIVER):
            liver = True
    if liver is None:
        missing.append("liver metastases: not recorded (stricter AST/ALT limits apply)")

    state = t.PatientState(
        today=today,
        oncotree_code=case.oncotree_code,
        lineage=lineage,
        stage_group=case.stage_group,
        sex=case.patient.sex,
        age=case.patient.age_on(today),
        findings=findings,
        tested_genes=frozenset(g for g in tested if g),
        biomarkers=biomarkers,
        labs=tuple(labs),
        ecog=ecog,
        ecog_on=ecog_on,
        prior_lines=tuple(prior),
        conditions=conditions,
        medications=medications,
        pregnant=pregnant,
        liver_metastases=liver,
    )
    return StateReport(state=state, used=tuple(used), missing=tuple(missing))
