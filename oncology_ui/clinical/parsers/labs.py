"""Lab results: one normalised record per measured value, from a CSV row or a FHIR Observation.

The original value and unit are always kept beside the converted one; the reference range is the
laboratory's own when it is given (converted like the value) and the catalogue's otherwise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from oncology_ui.clinical.parsers.catalogue import Analyte, Catalogue, Range
from oncology_ui.clinical.parsers.units import UnitError, convert

_NUMBER = re.compile(r"^(<=|>=|<|>|≤|≥)?\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?)$")
_RANGE = re.compile(
    r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:-|–|to)\s*([+-]?\d+(?:\.\d+)?)\s*$", re.IGNORECASE
)
_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPARATORS = {"≤": "<=", "≥": ">="}


class LabValueError(ValueError):
    """A value, unit, date or range that cannot be stored; the message says why."""


@dataclass(frozen=True)
class PatientContext:
    """What the parsers need to know about the patient the file is imported for."""

    sex: str = "unknown"
    birth_date: date | None = None
    today: date | None = None


@dataclass
class LabRecord:
    source_ref: str
    source_key: str
    analyte_key: str
    loinc: str
    name: str
    category: str
    collected_at: datetime
    value_text: str
    unit_original: str
    comparator: str
    value: float | None
    unit: str
    ref_low: float | None = None
    ref_high: float | None = None
    ref_source: str = ""
    flag: str = ""
    comment: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def loinc_is_valid(code: str) -> bool:
    """LOINC codes end in a mod-10 (Luhn) check digit: ``2160-0`` is valid, ``2160-1`` is not."""
    match = _LOINC.match(code)
    if not match:
        return False
    total = 0
    for position, char in enumerate(reversed(match.group(1))):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10 == int(match.group(2))


def parse_number(text: str) -> tuple[str, float]:
    """``"<0.5"`` -> ``("<", 0.5)``; refuses decimal commas, words and non-finite numbers."""
    cleaned = text.strip()
    if len(cleaned) > 40:
        raise LabValueError("the value is too long to be a number")
    if re.fullmatch(r"[<>≤≥=]*\s*\d+,\d+", cleaned):
        raise LabValueError(f"“{cleaned}” uses a decimal comma; write it with a decimal point")
    match = _NUMBER.match(cleaned)
    if not match:
        raise LabValueError(f"“{cleaned[:40]}” is not a number")
    number = float(match.group(2))
    if not math.isfinite(number):
        raise LabValueError(f"“{cleaned[:40]}” is not a finite number")
    comparator = match.group(1) or ""
    return _COMPARATORS.get(comparator, comparator), number


def parse_when(text: str, *, context: PatientContext) -> datetime:
    """An ISO date or date-time; never in the future or before the patient's birth."""
    value = text.strip()
    try:
        when = (
            datetime.combine(date.fromisoformat(value), time())
            if _DATE.match(value)
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
    except ValueError:
        raise LabValueError(
            f"“{value[:40]}” is not a date; write YYYY-MM-DD (or an ISO date and time)"
        ) from None
    if context.today and when.date() > context.today:
        raise LabValueError(f"{when.date()} is in the future")
    if context.birth_date and when.date() < context.birth_date:
        raise LabValueError(f"{when.date()} is before the patient's date of birth")
    return when


def parse_reference(text: str) -> Range:
    text = text.strip()
    match = _RANGE.match(text)
    if match:
        return Range(float(match.group(1)), float(match.group(2)))
    if text[:1] in "<≤":
        return Range(None, parse_number(text.lstrip("<≤="))[1])
    if text[:1] in ">≥":
        return Range(parse_number(text.lstrip(">≥="))[1], None)
    raise LabValueError(f"reference range “{text[:40]}” is not like 3.5-5.1, <5 or >60")


def flag_for(comparator: str, value: float, reference: Range) -> str:
    """``L`` or ``H`` when the value is certainly outside the range; ``""`` otherwise."""
    if reference.low is not None and value < reference.low and comparator not in {">", ">="}:
        return "L"
    if reference.high is not None and value > reference.high and comparator not in {"<", "<="}:
        return "H"
    return ""


def normalise(
    *,
    catalogue: Catalogue,
    analyte: Analyte | None,
    loinc: str,
    name: str,
    value_text: str,
    unit: str,
    collected_at: datetime,
    reference: Range | None,
    context: PatientContext,
    source_ref: str,
    source_key: str,
    comment: str = "",
) -> LabRecord:
    """Build one checked record: converted value, reference range, flag.

    Raises:
        LabValueError: the value, unit or range cannot be stored as it is.
    """
    label = analyte.name if analyte else (name or catalogue.tumour_markers.get(loinc) or loinc)
    category = (
        analyte.category
        if analyte
        else ("tumour_marker" if loinc in catalogue.tumour_markers else "lab")
    )
    record = LabRecord(
        source_ref=source_ref,
        source_key=source_key,
        analyte_key=analyte.key if analyte else "",
        loinc=analyte.loinc if analyte else loinc,
        name=label,
        category=category,
        collected_at=collected_at,
        value_text=value_text.strip(),
        unit_original=unit.strip(),
        comparator="",
        value=None,
        unit=analyte.unit if analyte else unit.strip(),
        comment=comment,
    )
    try:
        comparator, number = parse_number(value_text)
    except LabValueError:
        if analyte is None or analyte.category == "tumour_marker":
            # A qualitative result ("positive", "not detected") is kept as text.
            if not value_text.strip():
                raise LabValueError("the value is empty") from None
            return record
        raise
    record.comparator = comparator
    if analyte is None:
        record.value = number
        if reference is not None:
            record.ref_low, record.ref_high, record.ref_source = (
                reference.low,
                reference.high,
                "laboratory",
            )
            record.flag = flag_for(comparator, number, reference)
        return record
    if not unit.strip() and analyte.unit not in {"{INR}"}:
        raise LabValueError(f"the unit is missing (expected, for example, {analyte.unit})")

    def to_catalogue(x: float) -> float:
        try:
            return convert(
                x,
                unit or analyte.unit,
                analyte.unit,
                molar_mass=analyte.molar_mass,
                valence=analyte.valence,
                analyte=analyte.name,
            )
        except UnitError as exc:
            raise LabValueError(str(exc)) from None

    record.value = round(to_catalogue(number), 6)
    limits = analyte.physiological
    if (limits.low is not None and record.value < limits.low) or (
        limits.high is not None and record.value > limits.high
    ):
        raise LabValueError(
            f"{analyte.name} {value_text.strip()} {unit.strip()} is outside physiological limits "
            f"({limits.low:g}–{limits.high:g} {analyte.unit}); check the value and its unit"
        )
    if reference is not None:
        low = to_catalogue(reference.low) if reference.low is not None else None
        high = to_catalogue(reference.high) if reference.high is not None else None
        used = Range(low, high)
        record.ref_source = "laboratory"
    else:
        used = analyte.reference_for(context.sex)
        record.ref_source = "catalogue" if (used.low, used.high) != (None, None) else ""
    record.ref_low, record.ref_high = used.low, used.high
    record.flag = flag_for(comparator, record.value, used)
    return record
