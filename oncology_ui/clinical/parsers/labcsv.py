"""The lab CSV: one result per row, streamed, every row checked before anything is kept."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
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
from oncology_ui.clinical.parsers.text import cell, csv_rows, header_index

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
    rows = csv_rows(handle, limits)
    first = next(rows, None)
    if first is None:
        raise ImportRejected([Problem("file", "is empty.")])
    header_line, header = first
    index = header_index(header, HEADER_ALIASES, line=header_line)
    missing = [name for name in ("date", "value") if name not in index]
    if "test" not in index and "loinc" not in index:
        missing.append("test (or loinc)")
    if missing:
        raise ImportRejected(
            [
                Problem(
                    f"line {header_line}",
                    f"the header has no {', '.join(missing)} column; download the template to see "
                    "the expected columns.",
                )
            ]
        )
    records: list[LabRecord] = []
    seen: dict[str, int] = {}
    count = 0
    for line, cells in rows:
        count += 1
        if count > limits.max_rows:
            raise ImportRejected(
                [
                    Problem(
                        f"line {line}",
                        f"the file has more than {limits.max_rows:,} rows; split it into smaller "
                        "files.",
                    )
                ]
            )
        where = f"line {line}"
        if len(cells) > len(header):
            log.add(where, f"has {len(cells)} cells but the header has {len(header)}.")
            continue
        test, loinc = cell(cells, index, "test"), cell(cells, index, "loinc")
        if loinc and not loinc_is_valid(loinc):
            log.add(where, f"“{loinc[:20]}” is not a valid LOINC code (check digit or format).")
            continue
        analyte = catalogue.find(name=test, loinc=loinc)
        if analyte is None and not loinc:
            log.add(
                where,
                f"“{test[:60]}” is not a lab test OncoBoard knows; add its LOINC code in the "
                "loinc column or use a name from the template.",
            )
            continue
        try:
            when = parse_when(cell(cells, index, "date"), context=context)
            result_id = cell(cells, index, "result_id")
            value, unit = cell(cells, index, "value"), cell(cells, index, "unit")
            code = analyte.key if analyte else loinc
            identity = (
                f"lab:id:{result_id}"
                if result_id
                else f"lab:{code}:{when.isoformat()}:{value}:{unit}"
            )
            key = "lab:" + hashlib.sha256(identity.encode()).hexdigest()[:40]
            if key in seen:
                log.warn(where, f"repeats line {seen[key]}; imported once.")
                continue
            seen[key] = line
            record = normalise(
                catalogue=catalogue,
                analyte=analyte,
                loinc=loinc,
                name=test,
                value_text=value,
                unit=unit,
                collected_at=when,
                reference=_reference(cells, index),
                context=context,
                source_ref=where,
                source_key=key,
                comment=cell(cells, index, "comment")[:500],
            )
        except LabValueError as exc:
            log.add(where, f"{exc}.")
            continue
        if not log.total:
            records.append(record)
    if count == 0:
        log.add("file", "has a header but no results.")
    log.raise_if_any()
    return records, log
