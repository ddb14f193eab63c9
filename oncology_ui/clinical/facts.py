"""Writing facts: imported lab results, variants, biomarkers and FHIR facts, derived lab values
and biomarkers entered by hand.

Every imported row carries a ``source_key`` unique per case: the writers skip the keys the case
already has, so importing the same file again adds nothing and reports what was already there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from oncology_ui.clinical.models import (
    Biomarker,
    ClinicalFact,
    ClinicalImport,
    LabResult,
    Variant,
    VariantEvidence,
)
from oncology_ui.clinical.parsers.annotate import (
    VariantQuery,
    best_level,
    civic_evidence,
    oncoref_rows,
)
from oncology_ui.clinical.parsers.biomarkers import BiomarkerRecord, normalise_biomarker
from oncology_ui.clinical.parsers.catalogue import load_catalogue
from oncology_ui.clinical.parsers.derived import (
    Derived,
    absolute_neutrophil_count,
    body_surface_area_mosteller,
    creatinine_clearance_cockcroft_gault,
    egfr_ckd_epi_2021,
)
from oncology_ui.clinical.parsers.fhir import FactRecord
from oncology_ui.clinical.parsers.genes import normalise_protein_change
from oncology_ui.clinical.parsers.labs import LabRecord
from oncology_ui.clinical.parsers.variants import VariantRecord, is_non_coding
from oncology_ui.clinical.timeline import fact_event_upsert
from oncology_ui.patients.models import Case

_CHUNK = 1000


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _existing_keys(model: type[Model], case: Case, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        found.update(
            model._default_manager.filter(
                case=case, source_key__in=keys[start : start + _CHUNK]
            ).values_list("source_key", flat=True)
        )
    return found


def _counts(total: int, existing: int) -> dict[str, int]:
    return {"new": total - existing, "already_present": existing}


def lab_result_from_record(
    lab: LabRecord, *, case: Case, source_import: ClinicalImport | None = None
) -> LabResult:
    """The unsaved ``LabResult`` of a normalised lab record, each text cut to its column.

    One mapping for every way a lab value arrives: an imported file's rows and a lab value
    accepted from a clinical document (``source_import=None``).
    """
    return LabResult(
        case=case,
        source_import=source_import,
        source_ref=lab.source_ref[:200],
        source_key=lab.source_key,
        analyte_key=lab.analyte_key,
        loinc=lab.loinc[:10],
        name=lab.name[:200],
        category=lab.category,
        collected_at=_aware(lab.collected_at),
        value_text=lab.value_text[:60],
        unit_original=lab.unit_original[:40],
        comparator=lab.comparator,
        value=lab.value,
        unit=lab.unit[:40],
        ref_low=lab.ref_low,
        ref_high=lab.ref_high,
        ref_source=lab.ref_source,
        flag=lab.flag,
        comment=lab.comment[:500],
    )


def labs_write(*, record: ClinicalImport, labs: list[LabRecord]) -> dict[str, int]:
    """Add the lab results the case does not have yet; counts of new and already present."""
    keys = [lab.source_key for lab in labs]
    existing = _existing_keys(LabResult, record.case, keys)
    rows = [
        lab_result_from_record(lab, case=record.case, source_import=record)
        for lab in labs
        if lab.source_key not in existing
    ]
    LabResult.objects.bulk_create(rows, batch_size=_CHUNK)
    return _counts(len(labs), len(existing))


def variant_annotate(*, variant: Variant) -> None:
    """Attach the CIViC and oncoref evidence that matches the variant, and its best level."""
    change = None
    if variant.protein_short:
        change = normalise_protein_change(variant.protein_short)
    query = VariantQuery(
        gene=variant.gene,
        kind=variant.kind,
        protein_key=change.key if change else "",
        codon=change.codon if change else "",
        truncating=change.is_truncating if change else False,
        silent=(change.is_silent if change else False) or is_non_coding(variant.consequence),
        copy_number_level=variant.copy_number_level,
        partner_gene=variant.partner_gene,
    )
    evidence = civic_evidence(query) + oncoref_rows(query)
    VariantEvidence.objects.bulk_create(
        [
            VariantEvidence(
                variant=variant,
                source=e.source,
                match=e.match,
                level=e.level[:40],
                evidence_id=e.evidence_id[:60],
                variant_name=e.variant_name[:200],
                disease=e.disease[:200],
                drugs=e.drugs[:300],
                evidence_type=e.evidence_type[:20],
                direction=e.direction[:20],
                significance=e.significance[:400],
                citation=e.citation[:60],
                url=e.url[:200],
            )
            for e in evidence
        ]
    )
    best = best_level(evidence)
    variant.best_level = best.level if best else ""
    variant.save(update_fields=["best_level"])


def variants_write(*, record: ClinicalImport, variants: list[VariantRecord]) -> dict[str, int]:
    """Add the variants the case does not have yet, each annotated with its evidence."""
    existing = _existing_keys(Variant, record.case, [v.source_key for v in variants])
    created = 0
    for item in variants:
        if item.source_key in existing:
            continue
        variant = Variant.objects.create(
            case=record.case,
            source_import=record,
            source_ref=item.source_ref[:200],
            source_key=item.source_key,
            kind=item.kind,
            gene=item.gene,
            gene_as_reported=item.gene_as_reported[:40],
            protein_short=item.protein_short[:100],
            protein_long=item.protein_long[:200],
            hgvs_c=item.hgvs_c[:100],
            transcript=item.transcript[:40],
            chromosome=item.chromosome,
            position=item.position,
            ref=item.ref,
            alt=item.alt,
            vaf=item.vaf,
            depth=item.depth,
            consequence=item.consequence,
            origin=item.origin,
            sample=item.sample,
            copy_number_level=item.copy_number_level,
            copy_number=item.copy_number,
            partner_gene=item.partner_gene,
            reported_on=item.reported_on,
        )
        existing.add(item.source_key)
        created += 1
        if variant.gene:
            variant_annotate(variant=variant)
    return {"new": created, "already_present": len(variants) - created}


def _biomarker_row(case: Case, item: BiomarkerRecord, **extra: Any) -> Biomarker:
    return Biomarker(
        case=case,
        source_ref=item.source_ref[:200],
        source_key=item.source_key,
        name=item.name,
        method=item.method,
        value_text=item.value_text,
        value_number=item.value_number,
        unit=item.unit,
        status=item.status,
        status_rule=item.status_rule,
        measured_on=item.measured_on,
        loinc=item.loinc[:10],
        **extra,
    )


def biomarkers_write(*, record: ClinicalImport, items: list[BiomarkerRecord]) -> dict[str, int]:
    """Add the biomarker results the case does not have yet."""
    existing = _existing_keys(Biomarker, record.case, [b.source_key for b in items])
    rows = [
        _biomarker_row(record.case, item, source_import=record)
        for item in items
        if item.source_key not in existing
    ]
    Biomarker.objects.bulk_create(rows)
    return _counts(len(items), len(existing))


def facts_write(*, record: ClinicalImport, facts: list[FactRecord]) -> dict[str, int]:
    """Add the FHIR facts the case does not have yet, with their timeline events."""
    case = record.case
    existing = _existing_keys(ClinicalFact, case, [f.source_key for f in facts])
    created = 0
    for fact in facts:
        if fact.source_key in existing:
            continue
        ClinicalFact.objects.create(
            case=case,
            source_import=record,
            source_ref=fact.source_ref[:200],
            source_key=fact.source_key,
            kind=fact.kind,
            display=fact.display[:200],
            code_system=fact.code_system,
            code=fact.code,
            value_text=fact.value_text[:200],
            value_number=fact.value_number,
            date=fact.date,
            end_date=fact.end_date,
            detail=fact.detail,
        )
        existing.add(fact.source_key)
        created += 1
        fact_event_upsert(record=record, fact=fact)
    return {"new": created, "already_present": len(facts) - created}


# --- derived lab values ------------------------------------------------------------------------


def _latest_lab(case: Case, key: str, day: date) -> LabResult | None:
    return (
        LabResult.objects.filter(
            case=case, analyte_key=key, collected_at__date__lte=day, value__isnull=False
        )
        .exclude(formula__gt="")
        .order_by("-collected_at")
        .first()
    )


def derived_values_refresh(
    *, case: Case, dates: Iterable[date], source: ClinicalImport | None
) -> int:
    """Recompute eGFR, creatinine clearance, ANC and BSA for the given collection dates."""
    catalogue = load_catalogue()
    patient = case.patient
    written = 0
    for day in sorted(set(dates)):
        same_day = {
            r.analyte_key: r
            for r in LabResult.objects.filter(
                case=case, collected_at__date=day, value__isnull=False
            )
            .exclude(formula__gt="")
            .order_by("collected_at")
        }
        age = patient.age_on(day)
        results: list[tuple[Derived, list[LabResult]]] = []
        creatinine = same_day.get("creatinine")
        weight = _latest_lab(case, "weight", day)
        height = _latest_lab(case, "height", day)
        if creatinine and creatinine.value and patient.sex in {"female", "male"}:
            results.append(
                (
                    egfr_ckd_epi_2021(
                        age_years=age, creatinine_umol_l=creatinine.value, sex=patient.sex
                    ),
                    [creatinine],
                )
            )
            if weight and weight.value:
                results.append(
                    (
                        creatinine_clearance_cockcroft_gault(
                            age_years=age,
                            weight_kg=weight.value,
                            creatinine_umol_l=creatinine.value,
                            sex=patient.sex,
                        ),
                        [creatinine, weight],
                    )
                )
        wbc, pct = same_day.get("wbc"), same_day.get("neutrophils_pct")
        if (
            wbc
            and pct
            and wbc.value is not None
            and pct.value is not None
            and "neutrophils" not in same_day
        ):
            bands = same_day.get("bands_pct")
            results.append(
                (
                    absolute_neutrophil_count(
                        wbc=wbc.value,
                        neutrophils_pct=pct.value,
                        bands_pct=bands.value if bands and bands.value else 0.0,
                    ),
                    [r for r in (wbc, pct, bands) if r],
                )
            )
        if (
            weight
            and height
            and weight.value
            and height.value
            and ("weight" in same_day or "height" in same_day)
        ):
            results.append(
                (
                    body_surface_area_mosteller(height_cm=height.value, weight_kg=weight.value),
                    [height, weight],
                )
            )
        for derived, inputs in results:
            analyte = catalogue.analytes[derived.key]
            reference = analyte.reference_for(patient.sex)
            flag = ""
            if reference.low is not None and derived.value < reference.low:
                flag = "L"
            elif reference.high is not None and derived.value > reference.high:
                flag = "H"
            LabResult.objects.update_or_create(
                case=case,
                source_key=f"derived:{derived.key}:{day.isoformat()}",
                defaults={
                    "source_import": source,
                    "source_ref": "derived from " + ", ".join(i.source_ref for i in inputs)[:180],
                    "analyte_key": derived.key,
                    "loinc": analyte.loinc,
                    "name": analyte.name,
                    "category": "derived",
                    "collected_at": max(i.collected_at for i in inputs),
                    "value_text": f"{derived.value:g}",
                    "value": derived.value,
                    "unit": derived.unit,
                    "unit_original": derived.unit,
                    "ref_low": reference.low,
                    "ref_high": reference.high,
                    "ref_source": "catalogue"
                    if reference.low is not None or reference.high is not None
                    else "",
                    "flag": flag,
                    "formula": derived.formula[:300],
                    "inputs": derived.inputs,
                },
            )
            written += 1
    return written


# --- entered by hand ---------------------------------------------------------------------------


@transaction.atomic
def biomarker_add(
    *,
    case: Case,
    user: User,
    name: str,
    method: str,
    value: str,
    unit: str,
    status: str,
    measured_on: date,
    source_ref: str = "",
    source_key: str = "",
) -> Biomarker:
    """Record a biomarker result a pathologist or oncologist enters on the molecular page, or
    one read from a document and accepted (``source_ref``/``source_key`` then name the document
    and the proposal, so accepting the same proposal twice cannot add a second row)."""
    from oncology_ui.clinical.parsers.biomarkers import BiomarkerError

    if measured_on > timezone.localdate():
        raise ValidationError({"measured_on": "The date cannot be in the future."})
    key = source_key or f"manual:{uuid.uuid4().hex}"
    try:
        item = normalise_biomarker(
            name=name,
            method=method,
            value=value,
            unit=unit,
            status=status,
            measured_on=measured_on,
            source_ref=source_ref or f"entered by {user.get_username()}",
            source_key=key,
        )
    except BiomarkerError as exc:
        raise ValidationError(str(exc)) from None
    row = _biomarker_row(case, item, entered_by=user)
    row.full_clean()
    row.save()
    return row
