"""A document sent as FHIR R4: a DocumentReference or a DiagnosticReport, as JSON.

Only what a person would read is taken: the attachment's text (``text/plain``, or a PDF's text
layer, base64 in ``attachment.data``), else a DiagnosticReport's ``conclusion``; and the
document's metadata (author, date, type, title) to fill what the form left blank. Plain Python;
the caller passes the PDF reader so this module stays free of the upload rules.

Hostile input is refused before ``json.loads`` builds anything: nesting deeper than
:data:`MAX_DEPTH` (a "billion brackets" file would otherwise exhaust the recursion limit) and
attachments larger than the upload limit.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

MAX_DEPTH = 32

# DiagnosticReport.category codes (HL7 v2-0074 and LOINC) -> document kind.
_CATEGORY_KINDS = {
    "RAD": "radiology",
    "LP29684-5": "radiology",
    "PAT": "pathology",
    "SP": "pathology",
    "LP7839-6": "pathology",
}
# DocumentReference.type LOINC codes -> document kind (the common ones; others are notes).
_TYPE_KINDS = {
    "11526-1": "pathology",  # Pathology study
    "60567-5": "pathology",  # Comprehensive pathology report panel
    "18748-4": "radiology",  # Diagnostic imaging study
    "18782-3": "radiology",  # Radiology study observation
    "34109-9": "clinical_note",  # Note
    "11506-3": "clinical_note",  # Progress note
    "11488-4": "letter",  # Consult note
    "18842-5": "letter",  # Discharge summary
}


class FhirDocumentError(ValueError):
    """A FHIR file that is not one readable document; the message says why."""


@dataclass(frozen=True)
class FhirDocument:
    text: str
    kind: str = ""
    title: str = ""
    author: str = ""
    document_date: date | None = None


def nesting_depth(data: bytes) -> int:
    """The deepest ``{``/``[`` nesting of a JSON text, strings skipped; linear, no parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return deepest


def _text(value: Any, limit: int = 200) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _codeable_text(concept: Any) -> tuple[str, list[str]]:
    """A CodeableConcept's words and its codes."""
    if not isinstance(concept, dict):
        return "", []
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    words = _text(concept.get("text")) or next(
        (_text(c.get("display")) for c in codings if _text(c.get("display"))), ""
    )
    return words, [_text(c.get("code"), 40) for c in codings if _text(c.get("code"), 40)]


def _day(value: Any) -> date | None:
    text = _text(value, 40)
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _attachment_text(
    attachments: list[Any], pdf_text: Callable[[bytes], str], max_bytes: int
) -> str:
    for attachment in attachments:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
            continue
        content_type = _text(attachment.get("contentType"), 80).split(";")[0].lower()
        if content_type not in {"text/plain", "application/pdf", ""}:
            continue
        if len(attachment["data"]) > max_bytes * 4 // 3 + 4:
            raise FhirDocumentError("The attachment is larger than the upload limit.")
        try:
            raw = base64.b64decode(attachment["data"], validate=True)
        except (binascii.Error, ValueError):
            raise FhirDocumentError("The attachment's data is not valid base64.") from None
        if content_type == "application/pdf" or raw.startswith(b"%PDF"):
            return pdf_text(raw)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FhirDocumentError("The attachment's text is not UTF-8.") from None
    return ""


def read_fhir_document(
    data: bytes, *, pdf_text: Callable[[bytes], str], max_bytes: int
) -> FhirDocument:
    """The text and metadata of one DocumentReference or DiagnosticReport.

    Raises:
        FhirDocumentError: too deeply nested, not JSON, another resource type, or no text.
    """
    if nesting_depth(data) > MAX_DEPTH:
        raise FhirDocumentError(
            f"The JSON is nested deeper than {MAX_DEPTH} levels; no FHIR document is."
        )
    try:
        resource = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FhirDocumentError("The file is not valid JSON.") from None
    if not isinstance(resource, dict):
        raise FhirDocumentError("The file is not a FHIR resource.")
    resource_type = resource.get("resourceType")
    if resource_type == "DocumentReference":
        attachments = [
            c.get("attachment") for c in resource.get("content") or [] if isinstance(c, dict)
        ]
        type_words, codes = _codeable_text(resource.get("type"))
        kind = next((_TYPE_KINDS[c] for c in codes if c in _TYPE_KINDS), "")
        authors = resource.get("author") or []
        title = _text(resource.get("description")) or next(
            (_text(a.get("title")) for a in attachments if isinstance(a, dict)), ""
        )
        when = _day(resource.get("date"))
        text = _attachment_text(attachments, pdf_text, max_bytes)
    elif resource_type == "DiagnosticReport":
        type_words, _ = _codeable_text(resource.get("code"))
        codes = [
            code
            for category in resource.get("category") or []
            for code in _codeable_text(category)[1]
        ]
        kind = next((_CATEGORY_KINDS[c] for c in codes if c in _CATEGORY_KINDS), "")
        authors = resource.get("resultsInterpreter") or resource.get("performer") or []
        title = type_words
        when = _day(resource.get("effectiveDateTime")) or _day(resource.get("issued"))
        text = _attachment_text(resource.get("presentedForm") or [], pdf_text, max_bytes)
        text = text or _text(resource.get("conclusion"), 200_000)
    else:
        raise FhirDocumentError(
            "The FHIR resource is not a DocumentReference or a DiagnosticReport"
            + (f" (it is a {_text(resource_type, 40)})." if _text(resource_type, 40) else ".")
        )
    if not text.strip():
        raise FhirDocumentError("The FHIR document has no text attachment or conclusion to read.")
    author = next(
        (_text(a.get("display")) for a in authors if isinstance(a, dict) and a.get("display")),
        "",
    )
    return FhirDocument(
        text=text, kind=kind, title=title or type_words, author=author, document_date=when
    )
