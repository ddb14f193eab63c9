"""Imports of clinical, lab and molecular files: receive, check, store, and write all-or-nothing.

1. :func:`import_receive` checks size and content type of an upload *before* storing it, writes
   it under ``MEDIA_ROOT/clinical/imports/`` with a server-generated name, creates the
   ``ClinicalImport`` row and enqueues the ``clinical_import`` job after the commit.
2. The job (:func:`import_run`) parses the whole file first (no database writes); any problem
   fails the import with its report. Otherwise every fact is written in one transaction, skipping
   facts whose source identifier is already there (:mod:`oncology_ui.clinical.facts`), and the
   timeline is brought up to date (:mod:`oncology_ui.clinical.timeline`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncology_ui.clinical import expression, facts
from oncology_ui.clinical.models import ClinicalImport
from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
from oncology_ui.clinical.parsers.biomarkers import BiomarkerRecord
from oncology_ui.clinical.parsers.fhir import BundleContents, parse_bundle
from oncology_ui.clinical.parsers.labcsv import parse_lab_csv
from oncology_ui.clinical.parsers.labs import LabRecord, PatientContext
from oncology_ui.clinical.parsers.variants import (
    VariantRecord,
    parse_maf,
    parse_variant_csv,
    parse_vcf,
)
from oncology_ui.clinical.timeline import (
    lab_panels_refresh,
    molecular_event_upsert,
    therapy_lines_refresh,
)
from oncology_ui.core.file_signatures import binary_format
from oncology_ui.core.jobs import PermanentJobError, ProgressCallback
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case

logger = logging.getLogger(__name__)

IMPORT_JOB = "clinical_import"
UPLOAD_DIR = "clinical/imports"
_EXTENSIONS = {
    ClinicalImport.Kind.LAB_CSV: ".csv",
    ClinicalImport.Kind.VARIANT_CSV: ".csv",
    ClinicalImport.Kind.VCF: ".vcf",
    ClinicalImport.Kind.MAF: ".maf",
    ClinicalImport.Kind.FHIR: ".json",
    ClinicalImport.Kind.EXPRESSION: ".txt",
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
    what = binary_format(head)
    if what is not None:
        raise ValidationError(f"The file is {what}, not a CSV, VCF, MAF or FHIR JSON file.")
    if b"\x00" in head:
        raise ValidationError("The file contains binary data (NUL bytes); it is not a text file.")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if declared == ClinicalImport.Kind.EXPRESSION:
        # Chosen on its own form: a gene/value table has no signature to detect it by.
        return declared
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
    *,
    case: Case,
    user: User | None,
    upload: BinaryIO,
    name: str,
    size: int,
    kind: str = "",
    options: dict[str, str] | None = None,
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
            options=options or {},
        )
        record.enqueue_job(kind=IMPORT_JOB, user=user, message="Import queued")
    return record


# --- running an import -------------------------------------------------------------------------


def _context(case: Case) -> PatientContext:
    patient = case.patient
    return PatientContext(
        sex=patient.sex, birth_date=patient.birth_date, today=timezone.localdate()
    )


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
    record.finish(
        ClinicalImport.Status.IMPORTED,
        summary=summary,
        warnings=[w.as_dict() for w in parsed.log.warnings],
    )
    progress(100, "Imported")
    return summary


def _failure_message(problems: list[Problem], total: int) -> str:
    first = problems[0] if problems else Problem("file", "unreadable")
    more = f" (and {total - 1} more problems; see the report)" if total > 1 else ""
    return f"Nothing was imported. {first.where}: {first.message}{more}"


def _fail(
    record: ClinicalImport, problems: list[Problem], total: int, warnings: list[Problem]
) -> None:
    record.finish(
        ClinicalImport.Status.FAILED,
        problems=[p.as_dict() for p in problems],
        problem_count=total,
        warnings=[w.as_dict() for w in warnings],
    )


class _Parsed:
    def __init__(self, log: ProblemLog) -> None:
        self.log = log
        self.labs: list[LabRecord] = []
        self.variants: list[VariantRecord] = []
        self.biomarkers: list[BiomarkerRecord] = []
        self.bundle: BundleContents | None = None
        self.expression: expression.ParsedExpression | None = None


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
    if kind == ClinicalImport.Kind.EXPRESSION:
        profile, log = expression.expression_parse(record, path, limits)
        parsed = _Parsed(log)
        parsed.expression = profile
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
    if parsed.expression is not None:
        summary["expression"] = expression.expression_write(record=record, parsed=parsed.expression)
        summary["warnings"] = len(parsed.log.warnings)
        return summary
    if parsed.bundle is not None:
        _check_patient(record, parsed.bundle)
    summary["labs"] = facts.labs_write(record=record, labs=parsed.labs)
    summary["variants"] = facts.variants_write(record=record, variants=parsed.variants)
    summary["biomarkers"] = facts.biomarkers_write(record=record, items=parsed.biomarkers)
    if parsed.bundle is not None:
        summary["facts"] = facts.facts_write(record=record, facts=parsed.bundle.facts)
        summary["skipped_resources"] = parsed.bundle.skipped
    if parsed.labs:
        days = {r.collected_at.date() for r in parsed.labs}
        summary["derived"] = facts.derived_values_refresh(case=case, dates=days, source=record)
        lab_panels_refresh(case=case, record=record, dates=days)
    # FHIR variants sit with the other facts of the bundle; a molecular file gets its own event.
    if parsed.bundle is None and (parsed.variants or parsed.biomarkers):
        molecular_event_upsert(
            record=record, variants=parsed.variants, biomarkers=parsed.biomarkers
        )
    if parsed.bundle is not None and any(f.kind == "medication" for f in parsed.bundle.facts):
        therapy_lines_refresh(case=case, source=record)
    summary["warnings"] = len(parsed.log.warnings)
    return summary
