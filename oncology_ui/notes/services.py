"""Documents: receive their text, read it in the background, and review what was read.

1. :func:`document_receive` takes pasted text or an uploaded ``.txt``, PDF (text layer only) or
   FHIR DocumentReference/DiagnosticReport (:mod:`oncology_ui.notes.fhir`),
   refuses binary, oversized or textless input before anything is stored, then creates the
   ``ClinicalDocument`` row and queues the reading job in one transaction.
2. The job (:func:`document_read`) runs :func:`oncology_ui.notes.reading.read_document` and
   stores every fact it finds as a ``ProposedFact``, all or nothing; a document already read is
   left as it is, so running the job twice proposes nothing twice.
3. Review (:mod:`oncology_ui.notes.review`) turns an accepted proposal into the ordinary row.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncology_ui.core.file_signatures import binary_format
from oncology_ui.core.jobs import ProgressCallback
from oncology_ui.core.models import Job
from oncology_ui.notes.fhir import FhirDocumentError, read_fhir_document
from oncology_ui.notes.models import ClinicalDocument, ProposedFact
from oncology_ui.notes.reading import read_document
from oncology_ui.patients.models import Case

logger = logging.getLogger(__name__)

READ_JOB = "document_read"


def max_upload_bytes() -> int:
    return int(settings.NOTES_MAX_UPLOAD_BYTES)


def max_text_chars() -> int:
    """About 60 pages of dense text: longer is not one clinical document."""
    return int(settings.NOTES_MAX_TEXT_CHARS)


def max_pdf_pages() -> int:
    return int(settings.NOTES_MAX_PDF_PAGES)


def _check_text(text: str) -> str:
    """Normalised line ends; refuses empty, over-long and control-character-laden text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise ValidationError("The text contains binary data (NUL characters).")
    if not text.strip():
        raise ValidationError("The document has no text.")
    limit = max_text_chars()
    if len(text) > limit:
        raise ValidationError(
            f"The document has {len(text):,} characters; the limit is {limit:,}. "
            "Split it into its separate notes or reports."
        )
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\t\f")
    if controls > max(10, len(text) // 100):
        raise ValidationError("The file looks binary (many control characters), not text.")
    return text


def _pdf_text(data: bytes) -> str:
    """The text layer of a PDF, page by page; a scan without one is refused with a message."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ValidationError("The PDF is encrypted; save an unprotected copy and upload that.")
        pages = len(reader.pages)
        if pages > max_pdf_pages():
            raise ValidationError(
                f"The PDF has {pages} pages; the limit is {max_pdf_pages()} for one document."
            )
        parts = []
        total = 0
        for page in reader.pages:
            part = page.extract_text() or ""
            total += len(part)
            if total > max_text_chars():
                raise ValidationError(
                    f"The PDF's text is longer than {max_text_chars():,} characters; split it."
                )
            parts.append(part)
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        # pypdf raises many kinds on a damaged file; none of them is the person's to debug.
        logger.info("unreadable PDF: %s", type(exc).__name__)
        raise ValidationError("The PDF cannot be read (damaged or not a PDF).") from None
    text = "\n\f\n".join(parts)
    if len(text.strip()) < 20:
        raise ValidationError(
            "The PDF has no text layer (a scanned image?). OncoBoard does not read scans: "
            "paste the text, or upload the PDF the report system produced."
        )
    return text


@dataclass(frozen=True)
class Received:
    """What an upload gave: its text and source, and a FHIR document's own metadata."""

    text: str
    source: str
    kind: str = ""
    title: str = ""
    author: str = ""
    document_date: date | None = None


def document_text_from_upload(upload: BinaryIO, *, size: int) -> Received:
    """The text of an uploaded ``.txt``, PDF or FHIR JSON document, read within the size limit.

    Raises:
        ValidationError: too large, empty, binary, not UTF-8/Latin-1 text, a PDF without text,
            or JSON that is not one readable FHIR document (or is nested too deeply).
    """
    limit = max_upload_bytes()
    if size > limit:
        raise ValidationError(
            f"The file is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB."
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(f"The file is larger than the {limit / 1_048_576:.0f} MB limit.")
    if not data:
        raise ValidationError("The file is empty.")
    if data.startswith(b"%PDF"):
        return Received(_check_text(_pdf_text(data)), ClinicalDocument.Source.PDF)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        try:
            fhir = read_fhir_document(data, pdf_text=_pdf_text, max_bytes=limit)
        except FhirDocumentError as exc:
            raise ValidationError(str(exc)) from None
        return Received(
            _check_text(fhir.text),
            ClinicalDocument.Source.FHIR,
            kind=fhir.kind,
            title=fhir.title,
            author=fhir.author,
            document_date=fhir.document_date,
        )
    # A PDF was read above, by its text layer; every other binary format is refused here.
    what = binary_format(data)
    if what is not None:
        raise ValidationError(f"The file is {what}; upload plain text or a PDF.")
    if b"\x00" in data[:65536]:
        raise ValidationError("The file contains binary data (NUL bytes); it is not a text file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Windows exports of older report systems; every byte decodes, so check what it gives.
        text = data.decode("cp1252", errors="strict") if _cp1252_ok(data) else ""
        if not text:
            raise ValidationError("The file is not UTF-8 or Windows-1252 text.") from None
    return Received(_check_text(text), ClinicalDocument.Source.TEXT_FILE)


def _cp1252_ok(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def document_receive(
    *,
    case: Case,
    user: User | None,
    kind: str = "",
    title: str = "",
    author: str = "",
    document_date: date | None = None,
    text: str = "",
    upload: BinaryIO | None = None,
    name: str = "",
    size: int = 0,
) -> ClinicalDocument:
    """Check and store one document, and queue its reading (see the module docstring).

    Type, title, author and date left blank are taken from a FHIR document's own metadata;
    what neither gives is refused, field by field.

    Raises:
        ValidationError: both or neither of text and file, a future date, missing metadata, or
            input refused by :func:`document_text_from_upload` / the text checks. Nothing is
            stored then.
    """
    if upload is not None and text.strip():
        raise ValidationError("Paste the text or upload a file, not both.")
    if upload is not None:
        received = document_text_from_upload(upload, size=size)
    else:
        received = Received(_check_text(text), ClinicalDocument.Source.PASTED)
    kind = kind or received.kind
    title = title.strip() or received.title
    author = author.strip() or received.author
    document_date = document_date or received.document_date
    missing = {
        field: "Give this: the document does not say it."
        for field, value in (
            ("kind", kind),
            ("title", title),
            ("author", author),
            ("document_date", document_date),
        )
        if not value
    }
    if missing:
        raise ValidationError(missing)
    assert document_date is not None  # for the type checker: refused above when missing
    if document_date > timezone.localdate():
        raise ValidationError({"document_date": "The date cannot be in the future."})
    text, source = received.text, received.source
    with transaction.atomic():
        document = ClinicalDocument(
            case=case,
            kind=kind,
            title=title.strip()[:200],
            author=author.strip()[:200],
            document_date=document_date,
            source=source,
            original_name=name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200] if upload else "",
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            text=text,
            created_by=user,
        )
        document.full_clean()
        document.save()
        document.enqueue_job(kind=READ_JOB, user=user, message="Waiting to be read")
    return document


def document_read_job(job: Job, progress: ProgressCallback) -> dict[str, object]:
    document = ClinicalDocument.objects.get(pk=job.target_id)
    try:
        return document_read(document, progress)
    except Exception:
        # A bug, not the document: the transaction rolled back and nothing was proposed.
        document.finish(
            ClinicalDocument.Status.FAILED,
            problems=[{"where": "document", "message": f"an internal error (job {job.pk})"}],
        )
        raise


def document_read(document: ClinicalDocument, progress: ProgressCallback) -> dict[str, object]:
    """Read the document and store its proposed facts; a document already read is left alone."""
    if document.is_finished:
        return {"proposed": document.proposals.count()}
    progress(10, "Reading the text")
    proposals = read_document(document.text, on=document.document_date)
    progress(80, "Storing the proposed facts")
    with transaction.atomic():
        ProposedFact.objects.bulk_create(
            [
                ProposedFact(
                    document=document,
                    case_id=document.case_id,
                    kind=p.kind,
                    label=p.label[:200],
                    value=p.value,
                    start=p.start,
                    end=p.end,
                    section=p.section[:20],
                    negated=p.flags.negated,
                    historical=p.flags.historical,
                    hypothetical=p.flags.hypothetical,
                    family=p.flags.family,
                )
                for p in proposals
            ]
        )
        document.finish(ClinicalDocument.Status.READ)
    progress(100, "Read")
    return {"proposed": len(proposals)}
