"""Imports of clinical, lab and molecular files: receive, check, store, and write all-or-nothing.

1. :func:`import_receive` checks size and content type of an upload *before* storing it, writes
   it under ``MEDIA_ROOT/clinical/imports/`` with a server-generated name, creates the
   ``ClinicalImport`` row and enqueues the ``clinical_import`` job after the commit.
2. The job (:func:`import_run`) parses the whole file first (no database writes); any problem
   fails the import with its report. Otherwise every fact is written in one transaction, skipping
   facts whose source identifier is already there, and the timeline is brought up to date.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
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
    TimelineSource,
    Variant,
    VariantEvidence,
)
from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
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
from oncology_ui.clinical.parsers.fhir import BundleContents, FactRecord, parse_bundle
from oncology_ui.clinical.parsers.genes import normalise_protein_change
from oncology_ui.clinical.parsers.labcsv import parse_lab_csv
from oncology_ui.clinical.parsers.labs import LabRecord, PatientContext
from oncology_ui.clinical.parsers.variants import (
    VariantRecord,
    is_non_coding,
    parse_maf,
    parse_variant_csv,
    parse_vcf,
)
from oncology_ui.core.jobs import PermanentJobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.services import timeline_event_create

logger = logging.getLogger(__name__)

IMPORT_JOB = "clinical_import"
UPLOAD_DIR = "clinical/imports"
_CHUNK = 1000
#: Magic numbers of formats that are never a clinical text file.
_BINARY_MAGIC = {
    b"PK\x03\x04": "a ZIP archive",
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"\xd0\xcf\x11\xe0": "an old Office document",
    b"BCF\x02": "a binary BCF file",
}
_EXTENSIONS = {
    ClinicalImport.Kind.LAB_CSV: ".csv",
    ClinicalImport.Kind.VARIANT_CSV: ".csv",
    ClinicalImport.Kind.VCF: ".vcf",
    ClinicalImport.Kind.MAF: ".maf",
    ClinicalImport.Kind.FHIR: ".json",
}


def import_limits() -> Limits:
    return Limits(
        max_rows=getattr(settings, "CLINICAL_IMPORT_MAX_ROWS", 100_000),
        max_line_bytes=getattr(settings, "CLINICAL_IMPORT_MAX_LINE_BYTES", 64 * 1024),
    )


def max_upload_bytes() -> int:
    return int(getattr(settings, "CLINICAL_IMPORT_MAX_BYTES", 50 * 1024 * 1024))


def max_fhir_bytes() -> int:
    """FHIR bundles are parsed whole, so their limit is lower than the streamed formats'."""
    return int(getattr(settings, "CLINICAL_FHIR_MAX_BYTES", 20 * 1024 * 1024))


# --- receiving a file --------------------------------------------------------------------------


def detect_kind(head: bytes, declared: str = "") -> str:
    """The import kind from the file's first bytes; ``declared`` must agree with the content.

    Raises:
        ValidationError: binary content, XML, or content that does not match ``declared``.
    """
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise ValidationError(f"The file is {what}, not a CSV, VCF, MAF or FHIR JSON file.")
    if b"\x00" in head:
        raise ValidationError("The file contains binary data (NUL bytes); it is not a text file.")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        raise ValidationError("The file is XML (or HTML); FHIR bundles are imported as JSON only.")
    if text.startswith(b"{"):
        detected = ClinicalImport.Kind.FHIR
    elif text.startswith(b"##fileformat=VCF"):
        detected = ClinicalImport.Kind.VCF
    else:
        first_data = next(
            (line for line in text.splitlines() if line.strip() and not line.startswith(b"#")), b""
        )
        lowered = first_data.lower()
        if b"hugo_symbol" in lowered and b"\t" in first_data:
            detected = ClinicalImport.Kind.MAF
        elif b"gene" in lowered or b"biomarker" in lowered:
            detected = ClinicalImport.Kind.VARIANT_CSV
        else:
            detected = ClinicalImport.Kind.LAB_CSV
    if declared and declared != detected:
        csv_kinds = {ClinicalImport.Kind.LAB_CSV, ClinicalImport.Kind.VARIANT_CSV}
        if not (declared in csv_kinds and detected in csv_kinds):
            raise ValidationError(
                f"You chose {ClinicalImport.Kind(declared).label}, but the file looks like "
                f"{ClinicalImport.Kind(detected).label}."
            )
        return declared
    return detected


def import_receive(
    *, case: Case, user: User | None, upload: BinaryIO, name: str, size: int, kind: str = ""
) -> ClinicalImport:
    """Check, store and queue one uploaded file (see the module docstring).

    Raises:
        ValidationError: too large, empty, or not the kind of file it claims to be.
    """
    limit = max_upload_bytes()
    if size > limit:
        raise ValidationError(
            f"The file is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB."
        )
    if size == 0:
        raise ValidationError("The file is empty.")
    head = upload.read(8192)
    detected = detect_kind(head, kind)
    if detected == ClinicalImport.Kind.FHIR and size > max_fhir_bytes():
        raise ValidationError(
            f"The bundle is {size / 1_048_576:.1f} MB; FHIR bundles are limited to "
            f"{max_fhir_bytes() / 1_048_576:.0f} MB. Split it by patient or by resource type."
        )
    if detected == ClinicalImport.Kind.FHIR:
        limit = max_fhir_bytes()
    stored = f"{UPLOAD_DIR}/{uuid.uuid4().hex}{_EXTENSIONS[ClinicalImport.Kind(detected)]}"
    path = Path(settings.MEDIA_ROOT) / stored
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    partial = path.with_suffix(".part")
    try:
        with partial.open("wb") as out:
            chunk = head
            while chunk:
                written += len(chunk)
                if written > limit:
                    raise ValidationError(
                        f"The file is larger than the {limit / 1_048_576:.0f} MB limit."
                    )
                digest.update(chunk)
                out.write(chunk)
                chunk = upload.read(1024 * 1024)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        record = ClinicalImport.objects.create(
            case=case,
            kind=detected,
            original_name=Path(name).name[:200] or "upload",
            stored_name=stored,
            sha256=digest.hexdigest(),
            size=written,
            created_by=user,
        )
        record.job = job_enqueue(kind=IMPORT_JOB, target=record, user=user, message="Import queued")
        record.save(update_fields=["job"])
    return record


# --- running an import -------------------------------------------------------------------------


def _context(case: Case) -> PatientContext:
    patient = case.patient
    return PatientContext(
        sex=patient.sex, birth_date=patient.birth_date, today=timezone.localdate()
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def import_job(job: Job, progress: ProgressCallback) -> dict[str, object]:
    record = ClinicalImport.objects.select_related("case__patient").get(pk=job.target_id)
    try:
        return import_run(record, progress)
    except PermanentJobError:
        raise
    except Exception:
        # A bug, not the file: the transaction rolled back; say so on the import, then let the
        # job runner log it and show the job number.
        _fail(
            record,
            [
                Problem(
                    "file",
                    f"an internal error stopped the import (job {job.pk}); nothing was imported",
                )
            ],
            1,
            [],
        )
        raise


def import_run(record: ClinicalImport, progress: ProgressCallback) -> dict[str, object]:
    """Parse then write one import; safe to run twice (a finished import is left as it is).

    Raises:
        PermanentJobError: the file has problems; the import row holds the full report.
    """
    if record.is_finished:
        return dict(record.summary)
    path = Path(settings.MEDIA_ROOT) / record.stored_name
    progress(5, "Reading the file")
    try:
        parsed = _parse(record, path)
    except ImportRejected as exc:
        _fail(record, exc.problems, exc.total, [])
        raise PermanentJobError(_failure_message(exc.problems, exc.total)) from None
    except FileNotFoundError:
        _fail(record, [Problem("file", "the stored file is missing")], 1, [])
        raise PermanentJobError("The stored file is missing; upload it again.") from None
    progress(50, "Checking against the record")
    try:
        with transaction.atomic():
            summary = _write(record, parsed)
            progress(90, "Updating the timeline")
    except ImportRejected as exc:
        _fail(record, exc.problems, exc.total, parsed.log.warnings)
        raise PermanentJobError(_failure_message(exc.problems, exc.total)) from None
    except ValidationError as exc:
        problem = Problem("record", "; ".join(exc.messages)[:500])
        _fail(record, [problem], 1, parsed.log.warnings)
        raise PermanentJobError(_failure_message([problem], 1)) from None
    record.status = ClinicalImport.Status.IMPORTED
    record.summary = summary
    record.warnings = [w.as_dict() for w in parsed.log.warnings]
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "summary", "warnings", "finished_at"])
    progress(100, "Imported")
    return summary


def _failure_message(problems: list[Problem], total: int) -> str:
    first = problems[0] if problems else Problem("file", "unreadable")
    more = f" (and {total - 1} more problems; see the report)" if total > 1 else ""
    return f"Nothing was imported. {first.where}: {first.message}{more}"


def _fail(
    record: ClinicalImport, problems: list[Problem], total: int, warnings: list[Problem]
) -> None:
    record.status = ClinicalImport.Status.FAILED
    record.problems = [p.as_dict() for p in problems]
    record.problem_count = total
    record.warnings = [w.as_dict() for w in warnings]
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "problems", "problem_count", "warnings", "finished_at"])


class _Parsed:
    def __init__(self, log: ProblemLog) -> None:
        self.log = log
        self.labs: list[LabRecord] = []
        self.variants: list[VariantRecord] = []
        self.biomarkers: list[BiomarkerRecord] = []
        self.bundle: BundleContents | None = None


def _parse(record: ClinicalImport, path: Path) -> _Parsed:
    context = _context(record.case)
    limits = import_limits()
    kind = record.kind
    if kind == ClinicalImport.Kind.FHIR:
        data = path.read_bytes()  # bounded by the upload limit checked before storing
        contents, log = parse_bundle(data, limits=limits, context=context)
        parsed = _Parsed(log)
        parsed.bundle = contents
        parsed.labs, parsed.variants, parsed.biomarkers = (
            contents.labs,
            contents.variants,
            contents.biomarkers,
        )
        return parsed
    with path.open("rb") as handle:
        if kind == ClinicalImport.Kind.LAB_CSV:
            labs, log = parse_lab_csv(handle, context=context, limits=limits)
            parsed = _Parsed(log)
            parsed.labs = labs
        elif kind == ClinicalImport.Kind.VCF:
            variants, log = parse_vcf(handle, limits=limits)
            parsed = _Parsed(log)
            parsed.variants = variants
        elif kind == ClinicalImport.Kind.MAF:
            variants, log = parse_maf(handle, limits=limits)
            parsed = _Parsed(log)
            parsed.variants = variants
        else:
            variants, biomarkers, log = parse_variant_csv(handle, limits=limits, context=context)
            parsed = _Parsed(log)
            parsed.variants, parsed.biomarkers = variants, biomarkers
    return parsed


def _existing_keys(model: type[Model], case: Case, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        found.update(
            model._default_manager.filter(
                case=case, source_key__in=keys[start : start + _CHUNK]
            ).values_list("source_key", flat=True)
        )
    return found


def _check_patient(record: ClinicalImport, bundle: BundleContents) -> None:
    patient = record.case.patient
    problems = []
    where = f"Patient/{bundle.patient['id']}"
    if (
        bundle.patient["birth_date"]
        and bundle.patient["birth_date"] != patient.birth_date.isoformat()
    ):
        problems.append(
            Problem(
                where,
                f"birthDate {bundle.patient['birth_date'][:10]} is not this case's patient's date "
                "of birth: is this bundle for another patient?",
            )
        )
    gender = bundle.patient["gender"]
    if gender in {"female", "male"} and patient.sex in {"female", "male"} and gender != patient.sex:
        problems.append(Problem(where, f"gender {gender} does not match this case's patient."))
    if problems:
        raise ImportRejected(problems)


def _write(record: ClinicalImport, parsed: _Parsed) -> dict[str, object]:
    case = record.case
    summary: dict[str, Any] = {}
    if parsed.bundle is not None:
        _check_patient(record, parsed.bundle)
    summary["labs"] = _write_labs(record, parsed.labs)
    summary["variants"] = _write_variants(record, parsed.variants)
    summary["biomarkers"] = _write_biomarkers(record, parsed.biomarkers)
    if parsed.bundle is not None:
        summary["facts"] = _write_facts(record, parsed.bundle.facts)
        summary["skipped_resources"] = parsed.bundle.skipped
    if parsed.labs:
        summary["derived"] = derived_values_refresh(
            case=case, dates={r.collected_at.date() for r in parsed.labs}, source=record
        )
        _lab_panels_refresh(case, record, {r.collected_at.date() for r in parsed.labs})
    if parsed.variants or parsed.biomarkers:
        _molecular_event(record, parsed)
    if parsed.bundle is not None and any(f.kind == "medication" for f in parsed.bundle.facts):
        therapy_lines_refresh(case=case, source=record)
    summary["warnings"] = len(parsed.log.warnings)
    return summary


def _counts(total: int, existing: int) -> dict[str, int]:
    return {"new": total - existing, "already_present": existing}


def _write_labs(record: ClinicalImport, labs: list[LabRecord]) -> dict[str, int]:
    keys = [lab.source_key for lab in labs]
    existing = _existing_keys(LabResult, record.case, keys)
    rows = [
        LabResult(
            case=record.case,
            source_import=record,
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
        for lab in labs
        if lab.source_key not in existing
    ]
    LabResult.objects.bulk_create(rows, batch_size=_CHUNK)
    return _counts(len(labs), len(existing))


def _annotate(variant: Variant) -> None:
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


def _write_variants(record: ClinicalImport, variants: list[VariantRecord]) -> dict[str, int]:
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
            _annotate(variant)
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


def _write_biomarkers(record: ClinicalImport, items: list[BiomarkerRecord]) -> dict[str, int]:
    existing = _existing_keys(Biomarker, record.case, [b.source_key for b in items])
    rows = [
        _biomarker_row(record.case, item, source_import=record)
        for item in items
        if item.source_key not in existing
    ]
    Biomarker.objects.bulk_create(rows)
    return _counts(len(items), len(existing))


def _write_facts(record: ClinicalImport, facts: list[FactRecord]) -> dict[str, int]:
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
        _fact_event(record, fact)
    return {"new": created, "already_present": len(facts) - created}


# --- the timeline ------------------------------------------------------------------------------


def _refs_text(record: ClinicalImport, refs: list[str]) -> str:
    shown = ", ".join(refs[:4]) + (f" and {len(refs) - 4} more" if len(refs) > 4 else "")
    return f"Source: {record.original_name} · {shown}"


def _event_upsert(
    *, record: ClinicalImport, key: str, refs: list[str], fields: dict[str, Any]
) -> TimelineEvent:
    """Create (through the patients service) or update the timeline event an import owns."""
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
    event = link.event
    for name, value in fields.items():
        setattr(event, name, value)
    event.full_clean()
    event.save()
    link.source_import, link.source_refs = record, refs[:200]
    link.save(update_fields=["source_import", "source_refs"])
    return event


def _fact_event(record: ClinicalImport, fact: FactRecord) -> None:
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
    _event_upsert(
        record=record, key=f"event:{fact.source_key}", refs=[fact.source_ref], fields=fields
    )


def _lab_panels_refresh(case: Case, record: ClinicalImport, dates: Iterable[date]) -> None:
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
        _event_upsert(
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


def _molecular_event(record: ClinicalImport, parsed: _Parsed) -> None:
    if parsed.bundle is not None:
        return  # FHIR variants sit with the other facts of the bundle
    dates = [v.reported_on for v in parsed.variants if v.reported_on] + [
        b.measured_on for b in parsed.biomarkers if b.measured_on
    ]
    day = max(dates) if dates else timezone.localdate()
    parts = []
    if parsed.variants:
        parts.append(f"{len(parsed.variants)} variants")
    if parsed.biomarkers:
        parts.append(f"{len(parsed.biomarkers)} biomarkers")
    refs = [v.source_ref for v in parsed.variants] + [b.source_ref for b in parsed.biomarkers]
    _event_upsert(
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
        _event_upsert(
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


# --- derived lab values ------------------------------------------------------------------------


def _latest(case: Case, key: str, day: date) -> LabResult | None:
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
        weight = _latest(case, "weight", day)
        height = _latest(case, "height", day)
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
) -> Biomarker:
    """Record a biomarker result a pathologist or oncologist enters on the molecular page."""
    from oncology_ui.clinical.parsers.biomarkers import BiomarkerError

    if measured_on > timezone.localdate():
        raise ValidationError({"measured_on": "The date cannot be in the future."})
    key = f"manual:{uuid.uuid4().hex}"
    try:
        item = normalise_biomarker(
            name=name,
            method=method,
            value=value,
            unit=unit,
            status=status,
            measured_on=measured_on,
            source_ref=f"entered by {user.get_username()}",
            source_key=key,
        )
    except BiomarkerError as exc:
        raise ValidationError(str(exc)) from None
    row = _biomarker_row(case, item, entered_by=user)
    row.full_clean()
    row.save()
    return row
