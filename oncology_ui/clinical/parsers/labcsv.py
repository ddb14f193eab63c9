"""The lab CSV: one result per row, streamed, every row checked before anything is kept."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from oncology_ui.clinical.parsers import Limits, ProblemLog
from oncology_ui.clinical.parsers.catalogue import Catalogue, Range, load_catalogue
from oncology_ui.clinical.parsers.labs import (
    LabRecord,
    LabValueError,
    PatientContext,
    loinc_is_valid,
    normalise,
    parse_reference,
    parse_when,
)
from oncology_ui.clinical.parsers.text import Table, cell

TEMPLATE_COLUMNS = (
    "date",
    "test",
    "loinc",
    "value",
    "unit",
    "reference_range",
    "result_id",
    "comment",
)
TEMPLATE_EXAMPLE_ROWS = (
    ("2024-03-01", "Haemoglobin", "718-7", "11.8", "g/dL", "12.0-15.5", "", ""),
    ("2024-03-01", "Creatinine", "2160-0", "0.9", "mg/dL", "", "", ""),
    ("2024-03-01", "WBC", "", "5.4", "10^9/L", "", "", ""),
    ("2024-03-01", "Neutrophils %", "", "61", "%", "", "", ""),
    ("2024-03-01", "CA 15-3", "", "42", "U/mL", "", "", "before cycle 1"),
    ("2024-03-01", "Weight", "", "68", "kg", "", "", ""),
    ("2024-03-01", "Height", "", "165", "cm", "", "", ""),
)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("collected", "collection_date", "collected_at", "datetime", "date_time", "effective"),
    "test": ("analyte", "name", "test_name", "lab", "parameter", "component"),
    "loinc": ("loinc_code", "code"),
    "value": ("result", "result_value"),
    "unit": ("units", "uom"),
    "ref_low": ("reference_low", "normal_low", "low"),
    "ref_high": ("reference_high", "normal_high", "high"),
    "reference_range": ("ref_range", "range", "normal_range", "reference"),
    "result_id": ("id", "accession", "observation_id"),
    "comment": ("note", "notes", "comments"),
}


def _reference(cells: list[str], index: dict[str, int]) -> Range | None:
    text = cell(cells, index, "reference_range")
    if text:
        return parse_reference(text)
    low, high = cell(cells, index, "ref_low"), cell(cells, index, "ref_high")
    if not (low or high):
        return None
    return Range(
        parse_reference(f">{low}").low if low else None,
        parse_reference(f"<{high}").high if high else None,
    )


def parse_lab_csv(
    handle: BinaryIO,
    *,
    context: PatientContext,
    limits: Limits,
    catalogue: Catalogue | None = None,
) -> tuple[list[LabRecord], ProblemLog]:
    """Read a lab CSV; returns its records, or raises :class:`ImportRejected` listing every bad row.

    Rows are numbered by their line in the file (the header is line 1).
    """
    catalogue = catalogue or load_catalogue()
    log = ProblemLog()
    table = Table(handle, limits, HEADER_ALIASES)
    missing = [name for name in ("date", "value") if name not in table.index]
    if "test" not in table.index and "loinc" not in table.index:
        missing.append("test (or loinc)")
    if missing:
        raise table.refuse_header(
            f"the header has no {', '.join(missing)} column; download the template to see "
            "the expected columns."
        )
    records: list[LabRecord] = []
    seen: dict[str, int] = {}
    too_many = "the file has more than {limit} rows; split it into smaller files."
    for line, cells in table.rows(too_many=too_many):
        record = _lab_row(table, line, cells, catalogue, context, log, seen)
        if record is not None and not log.total:
            records.append(record)
    if table.count == 0:
        log.add("file", "has a header but no results.")
    log.raise_if_any()
    return records, log


def _lab_row(
    table: Table,
    line: int,
    cells: list[str],
    catalogue: Catalogue,
    context: PatientContext,
    log: ProblemLog,
    seen: dict[str, int],
) -> LabRecord | None:
    """One row as a record, or ``None`` with the reason logged (``seen`` finds repeated rows)."""
    where = f"line {line}"
    if len(cells) > len(table.header):
        log.add(where, f"has {len(cells)} cells but the header has {len(table.header)}.")
        return None
    test, loinc = table.cell(cells, "test"), table.cell(cells, "loinc")
    if loinc and not loinc_is_valid(loinc):
        log.add(where, f"“{loinc[:20]}” is not a valid LOINC code (check digit or format).")
        return None
    analyte = catalogue.find(name=test, loinc=loinc)
    if analyte is None and not loinc:
        log.add(
            where,
            f"“{test[:60]}” is not a lab test OncoBoard knows; add its LOINC code in the "
            "loinc column or use a name from the template.",
        )
        return None
    try:
        when = parse_when(table.cell(cells, "date"), context=context)
        result_id = table.cell(cells, "result_id")
        value, unit = table.cell(cells, "value"), table.cell(cells, "unit")
        code = analyte.key if analyte else loinc
        identity = (
            f"lab:id:{result_id}" if result_id else f"lab:{code}:{when.isoformat()}:{value}:{unit}"
        )
        key = "lab:" + hashlib.sha256(identity.encode()).hexdigest()[:40]
        if key in seen:
            log.warn(where, f"repeats line {seen[key]}; imported once.")
            return None
        seen[key] = line
        return normalise(
            catalogue=catalogue,
            analyte=analyte,
            loinc=loinc,
            name=test,
            value_text=value,
            unit=unit,
            collected_at=when,
            reference=_reference(cells, table.index),
            context=context,
            source_ref=where,
            source_key=key,
            comment=table.cell(cells, "comment")[:500],
        )
    except LabValueError as exc:
        log.add(where, f"{exc}.")
        return None
