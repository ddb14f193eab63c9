"""Measured Observations: tumour biomarkers (HER2, ER, PR, PD-L1, MSI, TMB) and lab results.

Both are converted by the same normalisers as the CSV imports (``parsers.biomarkers``,
``parsers.labs``), so a value reads the same whichever file it came from.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from oncology_ui.clinical.parsers.biomarkers import BiomarkerRecord, normalise_biomarker
from oncology_ui.clinical.parsers.catalogue import Range
from oncology_ui.clinical.parsers.fhir.concepts import code_text, codings, display
from oncology_ui.clinical.parsers.fhir.observed import Observed
from oncology_ui.clinical.parsers.fhir.records import Extraction
from oncology_ui.clinical.parsers.labs import normalise

if TYPE_CHECKING:
    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.quantity import Quantity
    from fhir.resources.R4B.ratio import Ratio

#: LOINC code -> (biomarker, method where the code names one).
BIOMARKER_LOINC = {
    "48676-1": ("HER2", ""),
    "85319-2": ("HER2", "IHC"),
    "18474-7": ("HER2", "IHC"),
    "85318-4": ("HER2", "ISH"),
    "16112-5": ("ER", ""),
    "85337-4": ("ER", "IHC"),
    "40556-3": ("ER", "IHC"),
    "16113-3": ("PR", ""),
    "85339-0": ("PR", "IHC"),
    "40557-1": ("PR", "IHC"),
    "81695-9": ("MSI", ""),
    "94076-7": ("TMB", ""),
}
#: Words in an uncoded observation's name that make it a biomarker.
BIOMARKER_WORDS = (
    ("estrogen receptor", "ER"),
    ("oestrogen receptor", "ER"),
    ("progesterone receptor", "PR"),
    ("her2", "HER2"),
    ("pd-l1", "PD-L1"),
    ("microsatellite", "MSI"),
    ("mismatch repair", "MMR"),
    ("mutations/megabase", "TMB"),
    ("tumor mutational burden", "TMB"),
)
_STATUS_WORDS = ("equivocal", "negative", "positive", "deficient", "proficient", "high", "stable")


def biomarker_of(seen: Observed) -> tuple[str, str] | None:
    """(biomarker, method) when the observation is a tumour biomarker, by code or by name."""
    marker = next((BIOMARKER_LOINC[c] for c in seen.codes if c in BIOMARKER_LOINC), None)
    if marker is not None:
        return marker
    lowered = " ".join([seen.display, code_text(seen.resource.code)]).lower()
    return next(((name, "") for word, name in BIOMARKER_WORDS if word in lowered), None)


def biomarker_record(seen: Observed, marker: tuple[str, str]) -> BiomarkerRecord:
    name = marker[0]
    method = _method(name, marker[1], seen)
    quantity, values = seen.values.quantity, seen.values
    value_text = ""
    if quantity is not None and quantity.value is not None:
        amount = quantity.value
        value_text = (
            f"{amount}+"
            if name == "HER2" and method == "IHC" and amount in (0, 1, 2, 3)
            else f"{quantity.comparator or ''}{amount}"
        )
    elif values.integer is not None:
        value_text = str(values.integer)
    record = normalise_biomarker(
        name=name,
        method=method,
        value=value_text,
        unit=str(quantity.unit or "") if quantity is not None else "",
        status=_status_from(values.concept),
        measured_on=seen.when,
        source_ref=seen.ident,
        source_key=seen.key,
        loinc=seen.codes[0] if seen.codes else "",
    )
    ratio = _ratio_text(values.ratio)
    if ratio and not record.value_text:
        record.value_text = ratio[:60]
    return record


def _method(name: str, method: str, seen: Observed) -> str:
    """The assay: named by the LOINC code, else inferred from the name and the biomarker."""
    for code in seen.codes:
        if code in BIOMARKER_LOINC and BIOMARKER_LOINC[code][1]:
            method = BIOMARKER_LOINC[code][1]
    concept = seen.resource.code
    lowered = (
        display(concept).lower()
        + " "
        + " ".join(str(c.display or "").lower() for c in codings(concept))
    )
    if not method:
        if "fish" in lowered or "in situ" in lowered:
            method = "ISH"
        elif "immune stain" in lowered or name in {"ER", "PR", "HER2"}:
            method = "IHC"
    if name == "PD-L1":
        method = "CPS" if "combined positive" in lowered or "cps" in lowered else "TPS"
    if name in {"MSI", "TMB"}:
        method = "NGS" if name == "TMB" else "PCR"
    return method


def _status_from(concept: CodeableConcept | None) -> str:
    text = display(concept).lower()
    for word in _STATUS_WORDS:
        if word in text:
            return word
    if "not detected" in text or "absent" in text:
        return "negative"
    return ""


def _ratio_text(ratio: Ratio | None) -> str:
    """``2.5:1`` (with comparators), or empty when a side has no value."""
    if ratio is None:
        return ""
    top, bottom = ratio.numerator, ratio.denominator
    if top is None or bottom is None or top.value is None or bottom.value is None:
        return ""
    return f"{top.comparator or ''}{top.value}:{bottom.comparator or ''}{bottom.value}"


def lab_record(run: Extraction, seen: Observed) -> None:
    """Add the lab result, converted to the catalogue's unit; other observations are counted."""
    codes, catalogue = seen.codes, run.catalogue
    analyte = next((catalogue.by_loinc[c] for c in codes if c in catalogue.by_loinc), None)
    marker = next((c for c in codes if c in catalogue.tumour_markers), "")
    quantity = seen.values.quantity
    if quantity is not None and quantity.value is not None:
        value_text = f"{quantity.comparator or ''}{quantity.value}"
        unit = str(quantity.code or quantity.unit or "")
    elif analyte or marker:
        value_text, unit = display(seen.values.concept) or str(seen.values.string or ""), ""
        if not value_text:
            raise ValueError("a lab result needs a value")
    else:
        run.contents.skip("Observation")
        run.log.warn(
            seen.ident, f"“{seen.display[:60]}” is not a kind of observation OncoBoard keeps."
        )
        return
    if seen.when is None:
        raise ValueError("a lab result needs an effective date")
    record = normalise(
        catalogue=catalogue,
        analyte=analyte,
        loinc=analyte.loinc if analyte else (marker or (codes[0] if codes else "")),
        name=seen.display,
        value_text=value_text,
        unit=unit,
        collected_at=datetime.combine(seen.when, time()),
        reference=_reference_range(seen),
        context=run.context,
        source_ref=seen.ident,
        source_key=seen.key,
    )
    run.contents.labs.append(record)


def _reference_range(seen: Observed) -> Range | None:
    """The laboratory's reference range; where several are given, the last bound of each wins."""
    low = high = None
    for reference in seen.resource.referenceRange or []:
        low = _bound(reference.low, low)
        high = _bound(reference.high, high)
    return Range(low, high) if (low is not None or high is not None) else None


def _bound(quantity: Quantity | None, default: float | None) -> float | None:
    if quantity is None or quantity.value is None:
        return default
    return float(quantity.value)
