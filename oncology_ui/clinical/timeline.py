"""The timeline events an import owns: facts, lab panels, molecular results, therapy lines.

Each event an import creates is linked to its source by a :class:`TimelineSource` keyed per case,
so importing the same file (or an overlapping one) updates the event instead of adding another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.utils import timezone

from oncology_ui.clinical.models import ClinicalFact, ClinicalImport, LabResult, TimelineSource
from oncology_ui.clinical.parsers.biomarkers import BiomarkerRecord
from oncology_ui.clinical.parsers.fhir import FactRecord
from oncology_ui.clinical.parsers.variants import VariantRecord
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.services import timeline_event_create, validated_update


def _refs_text(record: ClinicalImport, refs: list[str]) -> str:
    shown = ", ".join(refs[:4]) + (f" and {len(refs) - 4} more" if len(refs) > 4 else "")
    return f"Source: {record.original_name} · {shown}"


def timeline_event_upsert(
    *, record: ClinicalImport, key: str, refs: list[str], fields: dict[str, Any]
) -> TimelineEvent:
    """Create (through the patients service) or update the timeline event an import owns.

    ``key`` names the event among the case's imported ones, so importing again updates it.
    """
    case = record.case
    fields["detail"] = " — ".join(
        part for part in (fields.get("detail", ""), _refs_text(record, refs)) if part
    )[:2000]
    link = TimelineSource.objects.filter(case=case, source_key=key).select_related("event").first()
    if link is None:
        event = timeline_event_create(case=case, created_by=record.created_by, **fields)  # type: ignore[arg-type]
        TimelineSource.objects.create(
            event=event, case=case, source_import=record, source_key=key, source_refs=refs[:200]
        )
        return event
    event = validated_update(link.event, fields)
    link.source_import, link.source_refs = record, refs[:200]
    link.save(update_fields=["source_import", "source_refs"])
    return event


def fact_event_upsert(*, record: ClinicalImport, fact: FactRecord) -> None:
    """The timeline event of a dated diagnosis, surgery, radiotherapy or disease status."""
    if fact.date is None:
        return
    kinds = {
        "primary_cancer": TimelineEvent.Kind.DIAGNOSIS,
        "secondary_cancer": TimelineEvent.Kind.DIAGNOSIS,
        "surgery": TimelineEvent.Kind.SURGERY,
        "radiotherapy": TimelineEvent.Kind.RADIOTHERAPY,
        "disease_status": TimelineEvent.Kind.RESPONSE,
    }
    kind = kinds.get(fact.kind)
    if kind is None:
        return
    fields: dict[str, Any] = {"kind": kind, "date": fact.date}
    if fact.kind == "primary_cancer":
        fields["title"] = f"Primary cancer: {fact.display}"[:200]
    elif fact.kind == "secondary_cancer":
        fields["title"] = f"Secondary cancer: {fact.display}"[:200]
    else:
        fields["title"] = fact.display[:200]
    if fact.end_date and fact.end_date > fact.date:
        fields["end_date"] = fact.end_date
    details = [
        f"{label}: {fact.detail[name]}"
        for name, label in (("histology", "Histology"), ("body_site", "Body site"))
        if fact.detail.get(name)
    ]
    if fact.kind == "disease_status":
        fields["response"] = fact.detail.get("response", "NE")
        details.append(f"Reported as: {fact.value_text}")
    fields["detail"] = "; ".join(details)
    timeline_event_upsert(
        record=record, key=f"event:{fact.source_key}", refs=[fact.source_ref], fields=fields
    )


def lab_panels_refresh(*, case: Case, record: ClinicalImport, dates: Iterable[date]) -> None:
    """One lab-panel event per collection day, counting the day's results and flags."""
    for day in sorted(set(dates)):
        results = list(
            LabResult.objects.filter(case=case, collected_at__date=day)
            .exclude(formula__gt="")
            .order_by("id")
        )
        if not results:
            continue
        high = sum(1 for r in results if r.flag == "H")
        low = sum(1 for r in results if r.flag == "L")
        flags = ", ".join(
            part for part in (f"{high} high" if high else "", f"{low} low" if low else "") if part
        )
        timeline_event_upsert(
            record=record,
            key=f"labs:{day.isoformat()}",
            refs=[r.source_ref for r in results if r.source_import_id == record.pk]
            or [r.source_ref for r in results],
            fields={
                "kind": TimelineEvent.Kind.LAB_PANEL,
                "date": day,
                "title": f"Lab panel: {len(results)} results" + (f" ({flags})" if flags else ""),
            },
        )


def molecular_event_upsert(
    *,
    record: ClinicalImport,
    variants: Sequence[VariantRecord],
    biomarkers: Sequence[BiomarkerRecord],
) -> None:
    """One event per molecular file (variants and biomarkers), dated by its latest result."""
    dates = [v.reported_on for v in variants if v.reported_on] + [
        b.measured_on for b in biomarkers if b.measured_on
    ]
    day = max(dates) if dates else timezone.localdate()
    parts = []
    if variants:
        parts.append(f"{len(variants)} variants")
    if biomarkers:
        parts.append(f"{len(biomarkers)} biomarkers")
    refs = [v.source_ref for v in variants] + [b.source_ref for b in biomarkers]
    timeline_event_upsert(
        record=record,
        key=f"molecular:{record.sha256}",
        refs=refs,
        fields={
            "kind": TimelineEvent.Kind.PATHOLOGY,
            "date": day,
            "title": f"Molecular results: {', '.join(parts)}",
        },
    )


def therapy_lines_refresh(*, case: Case, source: ClinicalImport) -> int:
    """Group medication facts into lines of therapy and keep one timeline event per line.

    A drug started within 28 days of a line's start joins that line (a combination); a drug
    already in the line given again within 90 days of the line's last dose continues it; anything
    else starts a new line. Lines are numbered by start date among all therapy lines of the case.
    """
    medications = list(
        ClinicalFact.objects.filter(case=case, kind="medication", date__isnull=False).order_by(
            "date", "value_text", "id"
        )
    )
    lines: list[dict[str, Any]] = []
    for med in medications:
        assert med.date is not None
        drug = med.value_text or med.display
        last = max(med.end_date or med.date, med.date)
        current = lines[-1] if lines else None
        if current and (med.date - current["start"]).days <= 28:
            current["drugs"].setdefault(drug, None)
        elif current and drug in current["drugs"] and (med.date - current["end"]).days <= 90:
            pass
        else:
            current = {"start": med.date, "end": last, "drugs": {drug: None}, "facts": []}
            lines.append(current)
        current["end"] = max(current["end"], last)
        current["facts"].append(med)
    manual = list(
        TimelineEvent.objects.filter(
            case=case, kind=TimelineEvent.Kind.SYSTEMIC_THERAPY, source__isnull=True
        ).values_list("date", flat=True)
    )
    starts = sorted([*manual, *(line["start"] for line in lines)])
    wanted: set[str] = set()
    for line in lines:
        key = f"line:{line['facts'][0].source_key}"
        wanted.add(key)
        number = starts.index(line["start"]) + 1
        timeline_event_upsert(
            record=source,
            key=key,
            refs=[f.source_ref for f in line["facts"]],
            fields={
                "kind": TimelineEvent.Kind.SYSTEMIC_THERAPY,
                "date": line["start"],
                "end_date": line["end"] if line["end"] > line["start"] else None,
                "regimen": " + ".join(line["drugs"])[:200],
                "line_number": number,
                "title": f"Line {number}: {' + '.join(line['drugs'])}"[:200],
                "detail": f"{len(line['facts'])} medication records",
            },
        )
    stale = TimelineSource.objects.filter(case=case, source_key__startswith="line:").exclude(
        source_key__in=wanted
    )
    TimelineEvent.objects.filter(source__in=stale).delete()
    return len(lines)
