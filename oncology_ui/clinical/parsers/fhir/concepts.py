"""Small readers of validated FHIR datatypes: dates, codings, display text, profiles.

Every function takes ``fhir.resources`` R4B models (or ``None`` where FHIR makes the element
optional) and returns plain Python values.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.coding import Coding
    from fhir.resources.R4B.resource import Resource

LOINC = "http://loinc.org"


def fhir_date(value: object) -> date | None:
    """The calendar day of a FHIR date, dateTime or instant; a year or month is its first day.

    The models give full dates and times as ``date``/``datetime`` (a time keeps the day it was
    written in, whatever its zone) and partial dates as text (``2017``, ``2017-07``).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) >= 10:
            return date.fromisoformat(value[:10])
        if len(value) == 7:
            return date.fromisoformat(value + "-01")
        return date(int(value[:4]), 1, 1)
    except ValueError:
        return None


def when(resource: Resource, *names: str) -> tuple[date | None, date | None]:
    """Start and end day from the first of ``names`` that is set (a dateTime or a Period)."""
    for name in names:
        value = getattr(resource, name, None)
        if isinstance(value, str | date):  # a dateTime (datetime is a date)
            return fhir_date(value), None
        start, end = getattr(value, "start", None), getattr(value, "end", None)
        if start is not None or end is not None:  # a Period with at least one bound
            return fhir_date(start or end), fhir_date(end)
    return None, None


def codings(concept: CodeableConcept | None) -> list[Coding]:
    return list(concept.coding or []) if concept is not None else []


def first_coding(concept: CodeableConcept | None) -> tuple[str, str]:
    """System and code of the concept's first coding (empty strings where absent)."""
    coding = next(iter(codings(concept)), None)
    if coding is None:
        return "", ""
    return str(coding.system or ""), str(coding.code or "")


def display(concept: CodeableConcept | None) -> str:
    """What a person reads: the first coding's display, else the text, else the first code."""
    if concept is None:
        return ""
    for coding in codings(concept):
        if coding.display:
            return str(coding.display)
    return str(concept.text or next((c.code or "" for c in codings(concept)), ""))


def joined_displays(concepts: list[CodeableConcept] | None) -> str:
    """Several concepts (body sites, say) as one line: ``Lung, Left``."""
    shown = (display(concept) for concept in concepts or [])
    return ", ".join(text for text in shown if text)[:200]


def code_text(concept: CodeableConcept | None) -> str:
    """The concept's ``text`` (not a coding's display), or empty."""
    return str(concept.text or "") if concept is not None else ""


def loinc_codes(concept: CodeableConcept | None) -> list[str]:
    return [str(c.code) for c in codings(concept) if c.system == LOINC and c.code]


def profiles(resource: Resource) -> str:
    """The resource's declared profiles as one string, for ``"fragment" in profiles`` tests."""
    meta = resource.meta
    return " ".join(str(p) for p in (meta.profile or [])) if meta is not None else ""


def source(resource: Resource) -> tuple[str, str]:
    """``Type/id`` as shown to people, and the key that makes a re-import idempotent."""
    ident = f"{resource.get_resource_type()}/{resource.id or ''}"
    return ident, f"fhir:{ident}"
