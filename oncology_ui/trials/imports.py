"""Importing ClinicalTrials.gov records into the trial corpus.

One service for the management commands and the administrator upload:

1. Read the whole file first (API v2 JSON: one study, a list or a ``{"studies": [...]}`` page;
   legacy XML: one ``clinical_study``; JSONL: shared-corpus lines, API v2 studies or shipped
   records; any of them gzipped). A file that cannot be read at all, or holds no readable
   record, is refused and nothing changes.
2. Parse every record's criteria; a record that fails is listed with its reason, never
   dropped silently.
3. Upsert by NCT id inside one transaction: existing trials are updated in place, so referrals
   and work-list entries keep pointing at them; trials absent from the file are kept.
4. Give new or changed trials an embedding: the shipped vectors for the shipped subset, the
   MiniLM encoder when it is installed, else none (retrieval is then BM25 for them).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from inference.trials import ENGINE_VERSION
from inference.trials.corpus import SUBSET_EMBEDDINGS_PATH, load_shipped_trials, record_from_json
from inference.trials.criteria import criteria_for_trial
from inference.trials.records import (
    TrialRecordError,
    trial_from_api_v2,
    trial_from_corpus_json,
    trial_from_legacy_xml,
)
from inference.trials.retrieval import compute_embeddings, embedding_text, load_embeddings
from inference.trials.schema import CriterionKind, TrialRecord
from oncology_ui.core.jobs import JobError, ProgressCallback
from oncology_ui.core.models import Job
from oncology_ui.trials.models import Trial, TrialCorpusImport
from oncology_ui.trials.serialize import criterion_to_json, record_sha256, record_to_fields

logger = logging.getLogger(__name__)

IMPORT_JOB = "trial_corpus_import"
MAX_ERRORS_KEPT = 500
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_RECORD_FIELDS = frozenset(f.name for f in fields(TrialRecord))
_RECORD_COLUMNS = tuple(record_to_fields(TrialRecord(nct_id="NCT00000000")))


class CorpusReadError(Exception):
    """The file as a whole cannot be read; the import is refused and the corpus is unchanged."""


@dataclass(frozen=True)
class ReadOutcome:
    records: tuple[TrialRecord, ...]
    errors: tuple[tuple[str, str], ...]  # (record reference, reason)


def _decompress(data: bytes, name: str) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CorpusReadError(f"{name} looks gzipped but cannot be decompressed") from exc
    return data


def _record_from_object(obj: Any, ref: str) -> TrialRecord:
    """One record from a decoded JSON object of any of the supported shapes."""
    if isinstance(obj, dict) and "protocolSection" in obj:
        return trial_from_api_v2(obj, ref)
    if isinstance(obj, dict) and obj and set(obj) <= _RECORD_FIELDS and "nct_id" in obj:
        try:
            return record_from_json(obj, ref)
        except TypeError as exc:
            raise TrialRecordError(ref, f"field of the wrong type ({exc})") from exc
    return trial_from_corpus_json(obj, ref)


def read_trials(data: bytes, name: str) -> ReadOutcome:
    """Every record of one file, plus one (ref, reason) per record that could not be read.

    Raises:
        CorpusReadError: the file is not one of the supported formats, or holds no record.
    """
    text_bytes = _decompress(data, name)
    head = text_bytes.lstrip()[:1]
    records: list[TrialRecord] = []
    errors: list[tuple[str, str]] = []

    def take(obj: Any, ref: str) -> None:
        try:
            records.append(_record_from_object(obj, ref))
        except TrialRecordError as exc:
            errors.append((exc.record_ref, exc.reason))
        except (TypeError, ValueError, AttributeError) as exc:  # a field of an unexpected shape
            errors.append((ref, f"unreadable record ({type(exc).__name__})"))

    if head == b"<":
        try:
            records.append(trial_from_legacy_xml(text_bytes, name))
        except TrialRecordError as exc:
            raise CorpusReadError(f"{name}: {exc.reason}") from exc
    elif head in {b"{", b"["}:
        try:
            text = text_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusReadError(f"{name} is not UTF-8 text") from exc
        try:
            whole: Any = json.loads(text)
        except json.JSONDecodeError:
            whole = None
        if whole is None:
            # Not one JSON document: read it as JSON lines, one record per line.
            lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
            for number, line in lines:
                ref = f"{name}:{number}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    errors.append((ref, f"invalid JSON: {exc.msg}"))
                    continue
                take(obj, ref)
            if not records and len(lines) <= 1:
                raise CorpusReadError(f"{name} is not valid JSON or JSON lines")
        elif isinstance(whole, dict) and isinstance(whole.get("studies"), list):
            for i, study in enumerate(whole["studies"]):
                take(study, f"{name} studies[{i}]")
        elif isinstance(whole, list):
            for i, item in enumerate(whole):
                take(item, f"{name}[{i}]")
        else:
            take(whole, name)
    else:
        raise CorpusReadError(
            f"{name} is neither ClinicalTrials.gov JSON (API v2), legacy XML nor JSON lines"
        )
    if not records:
        first = f" First problem: {errors[0][0]}: {errors[0][1]}" if errors else ""
        raise CorpusReadError(f"{name} holds no readable trial record.{first}")
    return ReadOutcome(tuple(records), tuple(errors))


def _criteria_fields(trial: TrialRecord) -> dict[str, Any]:
    criteria = criteria_for_trial(trial)
    biomarkers = sorted(
        {
            c.biomarker.gene
            for c in criteria
            if c.kind is CriterionKind.BIOMARKER and c.biomarker is not None
        }
    )
    return {
        "criteria": [criterion_to_json(c) for c in criteria],
        "criteria_total": len(criteria),
        "criteria_unparsed": sum(c.kind is CriterionKind.TEXT for c in criteria),
        # Biomarker-driven: an inclusion criterion requires a biomarker to be present/altered.
        "biomarker_driven": any(
            c.kind is CriterionKind.BIOMARKER and c.inclusion and c.present for c in criteria
        ),
        "biomarkers": biomarkers,
    }


Encoder = Callable[[list[str]], np.ndarray]


def default_encoder() -> Encoder | None:
    """The MiniLM encoder when its package is installed and enabled, else None (BM25 only)."""
    if not getattr(settings, "TRIALS_EMBEDDINGS", True):
        return None
    try:
        from inference.trials.embed import default_embedder

        return default_embedder().encode
    except Exception as exc:  # the optional package is missing or its files are unreadable
        logger.warning("trial embeddings unavailable: %s", exc)
        return None


def _vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int
    unchanged: int
    embeddings: str


def _upsert(
    records: Iterable[TrialRecord],
    record: TrialCorpusImport,
    *,
    shipped_vectors: dict[str, np.ndarray] | None,
    encode: Encoder | None,
    progress: ProgressCallback,
) -> tuple[UpsertCounts, list[tuple[str, str]]]:
    """Write the records (one transaction, by the caller); returns counts and per-record errors."""
    latest: dict[str, TrialRecord] = {}
    errors: list[tuple[str, str]] = []
    for trial in records:
        if trial.nct_id in latest:
            errors.append((trial.nct_id, "appears more than once; the later record was used"))
        latest[trial.nct_id] = trial
    existing = {t.nct_id: t for t in Trial.objects.filter(nct_id__in=list(latest))}
    now = timezone.now()
    to_create: list[Trial] = []
    to_update: list[Trial] = []
    need_vectors: list[tuple[Trial, TrialRecord]] = []
    unchanged = 0
    total = len(latest)
    for n, (nct_id, trial) in enumerate(latest.items(), start=1):
        if n % 250 == 0:
            progress(10 + int(60 * n / max(total, 1)), f"Parsed criteria of {n} of {total} trials")
        sha = record_sha256(trial)
        row = existing.get(nct_id)
        if row is not None and row.content_sha256 == sha and row.engine_version == ENGINE_VERSION:
            unchanged += 1
            continue
        try:
            parsed = _criteria_fields(trial)
        except Exception as exc:  # a parser bug must cost one record, not the import
            logger.exception("criteria of %s could not be parsed", nct_id)
            errors.append(
                (nct_id, f"criteria could not be parsed ({type(exc).__name__}); kept as text")
            )
            parsed = {"criteria": [], "criteria_total": 0, "criteria_unparsed": 0}
        values = {
            **record_to_fields(trial),
            **parsed,
            "content_sha256": sha,
            "engine_version": ENGINE_VERSION,
            "corpus_import": record,
            "updated_at": now,
        }
        text_changed = row is None or embedding_text(_as_record(row)) != embedding_text(trial)
        if row is None:
            row = Trial(nct_id=nct_id, created_at=now, **values)
            to_create.append(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            to_update.append(row)
        if text_changed or not row.embedding:
            row.embedding = None
            need_vectors.append((row, trial))
    embeddings = _embed(need_vectors, shipped_vectors, encode, progress)
    Trial.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        Trial.objects.bulk_update(
            to_update,
            [
                *_RECORD_COLUMNS,
                "criteria",
                "criteria_total",
                "criteria_unparsed",
                "biomarker_driven",
                "biomarkers",
                "content_sha256",
                "engine_version",
                "corpus_import",
                "updated_at",
                "embedding",
            ],
            batch_size=500,
        )
    return UpsertCounts(len(to_create), len(to_update), unchanged, embeddings), errors


def _as_record(row: Trial) -> TrialRecord:
    from oncology_ui.trials.serialize import row_to_record

    return row_to_record(row)


def _embed(
    rows: list[tuple[Trial, TrialRecord]],
    shipped_vectors: dict[str, np.ndarray] | None,
    encode: Encoder | None,
    progress: ProgressCallback,
) -> str:
    """Give rows a vector; returns how, in words, for the import page."""
    if not rows:
        return "no new or changed trial text: stored vectors kept"
    from_shipped = 0
    remaining: list[tuple[Trial, TrialRecord]] = []
    for row, trial in rows:
        vector = shipped_vectors.get(trial.nct_id) if shipped_vectors else None
        if vector is not None:
            row.embedding = _vector_bytes(vector)
            from_shipped += 1
        else:
            remaining.append((row, trial))
    parts = []
    if from_shipped:
        parts.append(f"{from_shipped} from the shipped vectors")
    if remaining and encode is not None:
        progress(75, f"Embedding {len(remaining)} trials")
        computed = compute_embeddings([t for _, t in remaining], encode)
        for (row, _), vector in zip(remaining, computed.matrix, strict=True):
            row.embedding = _vector_bytes(vector)
        parts.append(f"{len(remaining)} computed with MiniLM")
    elif remaining:
        parts.append(f"{len(remaining)} without a vector (encoder not installed: BM25 only)")
    return "; ".join(parts)


def _shipped_vectors() -> dict[str, np.ndarray]:
    stored = load_embeddings(SUBSET_EMBEDDINGS_PATH)
    return {nct: stored.matrix[i] for i, nct in enumerate(stored.ids)}


def trial_corpus_import_records(
    *,
    record: TrialCorpusImport,
    outcome: ReadOutcome,
    shipped_vectors: dict[str, np.ndarray] | None = None,
    encode: Encoder | None = None,
    progress: ProgressCallback | None = None,
) -> TrialCorpusImport:
    """Upsert read records in one transaction and fill in the import's counts and errors."""
    progress = progress or (lambda _p, _m: None)
    with transaction.atomic():
        counts, upsert_errors = _upsert(
            outcome.records,
            record,
            shipped_vectors=shipped_vectors,
            encode=encode,
            progress=progress,
        )
        errors = [*outcome.errors, *upsert_errors]
        record.status = TrialCorpusImport.Status.IMPORTED
        record.records_read = len(outcome.records)
        record.created_count = counts.created
        record.updated_count = counts.updated
        record.unchanged_count = counts.unchanged
        record.error_count = len(errors)
        record.errors = [{"ref": ref, "reason": reason} for ref, reason in errors[:MAX_ERRORS_KEPT]]
        record.embeddings = counts.embeddings[:200]
        record.message = (
            f"{len(outcome.records)} records read: {counts.created} new, {counts.updated} "
            f"updated, {counts.unchanged} unchanged; {len(outcome.errors)} could not be read."
        )
        record.finished_at = timezone.now()
        record.save()
    return record


def _refuse(record: TrialCorpusImport, message: str) -> None:
    record.status = TrialCorpusImport.Status.FAILED
    record.message = message[:500]
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "message", "finished_at"])


def trial_corpus_import_file(
    *,
    path: Path,
    source: str = TrialCorpusImport.Source.COMMAND,
    user: User | None = None,
    encode: Encoder | None = None,
    progress: ProgressCallback | None = None,
) -> TrialCorpusImport:
    """Import one file now (management command); refused files leave the corpus as it was."""
    data = path.read_bytes()
    record = TrialCorpusImport.objects.create(
        source=source,
        original_name=path.name[:200],
        sha256=hashlib.sha256(data).hexdigest(),
        created_by=user,
    )
    try:
        outcome = read_trials(data, path.name)
    except CorpusReadError as exc:
        _refuse(record, f"Import refused, the corpus is unchanged: {exc}")
        return record
    return trial_corpus_import_records(
        record=record, outcome=outcome, encode=encode, progress=progress
    )


def trial_corpus_load_shipped(
    *, user: User | None = None, progress: ProgressCallback | None = None
) -> TrialCorpusImport:
    """Load (or refresh) the shipped oncology subset with its shipped vectors."""
    record = TrialCorpusImport.objects.create(
        source=TrialCorpusImport.Source.SHIPPED,
        original_name="inference/trials/data/oncology_trials.jsonl.gz",
        created_by=user,
    )
    outcome = ReadOutcome(load_shipped_trials(), ())
    return trial_corpus_import_records(
        record=record, outcome=outcome, shipped_vectors=_shipped_vectors(), progress=progress
    )


def import_upload_path(record: TrialCorpusImport) -> Path:
    return Path(settings.MEDIA_ROOT) / record.stored_name


@transaction.atomic
def trial_corpus_upload(*, upload: UploadedFile, user: User) -> TrialCorpusImport:
    """Store an administrator's upload under a server-chosen name and queue its import."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise JobError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    digest = hashlib.sha256()
    stored_name = f"trials/imports/{uuid.uuid4().hex}.upload"
    target = Path(settings.MEDIA_ROOT) / stored_name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        for chunk in upload.chunks():
            digest.update(chunk)
            handle.write(chunk)
    record = TrialCorpusImport.objects.create(
        source=TrialCorpusImport.Source.UPLOAD,
        original_name=(upload.name or "upload")[:200],
        stored_name=stored_name,
        sha256=digest.hexdigest(),
        created_by=user,
    )
    record.enqueue_job(kind=IMPORT_JOB, user=user, message="Import queued")
    return record


def trial_corpus_import_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Read and import an uploaded file; a rerun of a finished import changes nothing."""
    record = TrialCorpusImport.objects.get(pk=job.target_id)
    if record.is_finished:
        return {"import": record.pk, "status": record.status}
    path = import_upload_path(record)
    if not path.is_file():
        _refuse(record, "Import refused: the uploaded file is no longer on the server.")
        raise JobError(record.message)
    progress(5, "Reading the file")
    try:
        outcome = read_trials(path.read_bytes(), record.original_name)
    except CorpusReadError as exc:
        _refuse(record, f"Import refused, the corpus is unchanged: {exc}")
        return {"import": record.pk, "status": record.status}
    trial_corpus_import_records(
        record=record, outcome=outcome, encode=default_encoder(), progress=progress
    )
    return {"import": record.pk, "status": record.status}


def corpus_version() -> int | None:
    """The id of the latest successful import: the process-wide index is rebuilt when it moves."""
    return (
        TrialCorpusImport.objects.filter(status=TrialCorpusImport.Status.IMPORTED)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
