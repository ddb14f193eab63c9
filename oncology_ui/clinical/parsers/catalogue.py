"""The lab catalogue: analyte names to LOINC codes, units, reference and physiological ranges.

``vocab/lab_analytes.csv`` is curated for OncoBoard (CBC, CMP, LDH, coagulation, common tumour
markers, vitals and derived values; each row names its source). ``vocab/tumour_marker_loinc.tsv``
is the mCODE tumour-marker value set: its codes are recognised even without a catalogue row.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from oncology_ui.clinical.parsers import VOCAB_DIR


@dataclass(frozen=True)
class Range:
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Analyte:
    """One analyte of the catalogue; values are stored in ``unit``."""

    key: str
    loinc: str
    other_loinc: tuple[str, ...]
    name: str
    aliases: tuple[str, ...]
    category: str
    unit: str
    molar_mass: float | None
    valence: int | None
    reference: Range
    reference_female: Range | None
    reference_male: Range | None
    physiological: Range
    source: str

    def reference_for(self, sex: str) -> Range:
        if sex == "female" and self.reference_female:
            return self.reference_female
        if sex == "male" and self.reference_male:
            return self.reference_male
        return self.reference


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def _range(text: str) -> Range | None:
    if not text.strip():
        return None
    low, high = text.split("-")
    return Range(float(low), float(high))


@dataclass(frozen=True)
class Catalogue:
    analytes: dict[str, Analyte]
    by_loinc: dict[str, Analyte]
    by_name: dict[str, Analyte]
    tumour_markers: dict[str, str]

    def find(self, *, name: str = "", loinc: str = "") -> Analyte | None:
        """The analyte for a LOINC code (preferred) or a written name, or None."""
        if loinc and loinc in self.by_loinc:
            return self.by_loinc[loinc]
        return self.by_name.get(_name_key(name)) if name else None


def _name_key(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split())


@lru_cache(maxsize=4)
def load_catalogue(folder: Path = VOCAB_DIR) -> Catalogue:
    analytes: dict[str, Analyte] = {}
    with (folder / "lab_analytes.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            analyte = Analyte(
                key=row["key"],
                loinc=row["loinc"],
                other_loinc=tuple(code for code in row["other_loinc"].split("|") if code),
                name=row["name"],
                aliases=tuple(a for a in row["aliases"].split("|") if a),
                category=row["category"],
                unit=row["unit"],
                molar_mass=_number(row["molar_mass"]),
                valence=int(row["valence"]) if row["valence"] else None,
                reference=Range(_number(row["ref_low"]), _number(row["ref_high"])),
                reference_female=_range(row["ref_female"]),
                reference_male=_range(row["ref_male"]),
                physiological=Range(_number(row["phys_min"]), _number(row["phys_max"])),
                source=row["source"],
            )
            analytes[analyte.key] = analyte
    by_loinc: dict[str, Analyte] = {}
    by_name: dict[str, Analyte] = {}
    for analyte in analytes.values():
        for code in (analyte.loinc, *analyte.other_loinc):
            by_loinc[code] = analyte
        for name in (analyte.key, analyte.name, *analyte.aliases):
            by_name.setdefault(_name_key(name), analyte)
    with (folder / "tumour_marker_loinc.tsv").open(encoding="utf-8", newline="") as handle:
        markers = {row["loinc"]: row["display"] for row in csv.DictReader(handle, delimiter="\t")}
    return Catalogue(analytes, by_loinc, by_name, markers)
