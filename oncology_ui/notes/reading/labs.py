"""Lab values with units, checked against the lab catalogue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import lru_cache

from oncology_ui.clinical.parsers.catalogue import Analyte, Catalogue, load_catalogue
from oncology_ui.clinical.parsers.labs import LabRecord, LabValueError, PatientContext, normalise
from oncology_ui.notes.reading.proposal import (
    LAB,
    Proposal,
)

# --- labs --------------------------------------------------------------------------------------

# Aliases that are ordinary words or abbreviations of something else in a note ("pt" = patient,
# "mg" = milligram, "ca" = cancer, "k" = thousand, "hr" = hours, "ER" ...), and vital signs.
_LAB_ALIAS_STOP = {
    "pt",
    "mg",
    "ca",
    "k",
    "na",
    "cl",
    "hr",
    "rr",
    "ht",
    "wt",
    "map",
    "tp",
    "ld",
    "cr",
    "temp",
    "fib",
    "glu",
    "alb",
    "bands",
    "weight",
    "height",
    "body weight",
    "body height",
    "stature",
    "pulse",
    "egfr",
    "gfr",
    "co2",
    "psa",
}
_LAB_SKIP_CATEGORIES = {"vital", "vitals", "derived"}
_UNIT = (
    r"(?:x|×)?\s*10\s*\^?\s*(?:9|⁹|12|3)\s*/\s*(?:L|l|uL|µL|mm3)|10\*(?:9|12|3)/L|"
    r"[KM]/(?:uL|µL|mm3)|/(?:uL|µL|mm3)|cells/(?:uL|µL|mm3)|"
    r"g/dL|g/dl|g/L|mg/dL|mg/dl|mg/L|µg/L|ug/L|ng/mL|ng/ml|pg/mL|kU/L|U/mL|IU/mL|"
    r"mmol/L|mmol/l|µmol/L|umol/L|μmol/L|U/L|IU/L|mL/min(?:/1\.73\s*m2)?|fL|pg|%|s|sec"
)
_LAB_VALUE = re.compile(
    r"\s*(?:level|count|of|was|is|at|:|=|-)?\s*(?:level|of|was|is|:|=)?\s*"
    r"(?P<value>[<>≤≥]?\s*\d+(?:\.\d+)?)\s*(?P<unit>" + _UNIT + r")?(?![\w/])"
)


@lru_cache(maxsize=1)
def _lab_names() -> tuple[re.Pattern[str], dict[str, Analyte], Catalogue]:
    catalogue = load_catalogue()
    names: dict[str, Analyte] = {}
    for analyte in catalogue.analytes.values():
        if analyte.category in _LAB_SKIP_CATEGORIES:
            continue
        for name in (analyte.name, *analyte.aliases):
            key = " ".join(name.lower().split())
            if key in _LAB_ALIAS_STOP or len(key) < 2:
                continue
            names.setdefault(key, analyte)
    ordered = sorted(names, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in ordered) + r")(?![\w-])", re.I
    )
    return pattern, names, catalogue


def note_lab_record(
    *,
    catalogue: Catalogue,
    analyte: Analyte,
    value_text: str,
    unit: str,
    on: date,
    context: PatientContext | None = None,
    source_ref: str = "",
    source_key: str = "",
) -> LabRecord:
    """A lab value written in a note, normalised as an imported one would be.

    The note gives no time of day or reference range: the value counts as taken at midnight UTC
    of ``on`` and is flagged against the catalogue's range. Raises :class:`LabValueError` for no
    unit, an unknown unit or an implausible value, both when reading and when accepting.
    """
    return normalise(
        catalogue=catalogue,
        analyte=analyte,
        loinc="",
        name=analyte.name,
        value_text=value_text,
        unit=unit,
        collected_at=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
        reference=None,
        context=context or PatientContext(),
        source_ref=source_ref,
        source_key=source_key,
    )


def lab_proposals(text: str, *, on: date | None) -> Iterator[Proposal]:
    pattern, names, catalogue = _lab_names()
    day = on or date(2000, 1, 1)
    for m in pattern.finditer(text):
        value = _LAB_VALUE.match(text, m.end(), min(len(text), m.end() + 40))
        if value is None:
            continue
        analyte = names[" ".join(m.group(0).lower().split())]
        unit = (value.group("unit") or "").strip()
        unit = re.sub(r"^(?:x|×)\s*", "", unit).replace(" ", "").replace("⁹", "9")
        unit = unit.replace("10^9/l", "10^9/L").replace("μ", "µ")
        if unit in {"K/uL", "K/µL"}:
            unit = "10^3/uL"
        value_text = value.group("value").replace(" ", "")
        try:
            record = note_lab_record(
                catalogue=catalogue, analyte=analyte, value_text=value_text, unit=unit, on=day
            )
        except LabValueError:
            continue  # no unit, an unknown unit, or an implausible value: not proposed
        yield Proposal(
            LAB,
            f"{analyte.name} {value_text} {unit}".strip(),
            {
                "analyte": analyte.key,
                "name": analyte.name,
                "loinc": analyte.loinc,
                "value": value_text,
                "unit": unit,
                "converted": record.value,
                "converted_unit": record.unit,
            },
            m.start(),
            value.end(),
        )
