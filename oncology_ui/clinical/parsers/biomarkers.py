"""Biomarkers reported as a score or a status: ER, PR, HER2, PD-L1, MSI, MMR, TMB.

A status given by the report wins; otherwise it is derived from the score with the published
cut-offs named in :data:`RULES` (the page shows the rule next to the derived status).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NAMES = {
    "er": "ER",
    "estrogen receptor": "ER",
    "oestrogen receptor": "ER",
    "pr": "PR",
    "pgr": "PR",
    "progesterone receptor": "PR",
    "her2": "HER2",
    "her2/neu": "HER2",
    "her-2": "HER2",
    "erbb2": "HER2",
    "pd-l1": "PD-L1",
    "pdl1": "PD-L1",
    "cd274": "PD-L1",
    "msi": "MSI",
    "microsatellite instability": "MSI",
    "mmr": "MMR",
    "mismatch repair": "MMR",
    "tmb": "TMB",
    "tumour mutational burden": "TMB",
    "tumor mutational burden": "TMB",
}
METHODS = {
    "ihc": "IHC",
    "immunohistochemistry": "IHC",
    "ish": "ISH",
    "fish": "ISH",
    "cish": "ISH",
    "sish": "ISH",
    "tps": "TPS",
    "cps": "CPS",
    "pcr": "PCR",
    "ngs": "NGS",
    "": "",
}
STATUSES = {
    "positive": "positive",
    "pos": "positive",
    "+": "positive",
    "negative": "negative",
    "neg": "negative",
    "-": "negative",
    "equivocal": "equivocal",
    "low": "low",
    "high": "high",
    "msi-h": "high",
    "msi-high": "high",
    "msi-l": "stable",
    "mss": "stable",
    "stable": "stable",
    "dmmr": "deficient",
    "deficient": "deficient",
    "loss": "deficient",
    "pmmr": "proficient",
    "proficient": "proficient",
    "intact": "proficient",
    "retained": "proficient",
    "amplified": "positive",
    "not amplified": "negative",
}
RULES = {
    ("HER2", "IHC"): "ASCO/CAP 2018: 0 and 1+ negative, 2+ equivocal, 3+ positive",
    ("HER2", "ISH"): "ASCO/CAP 2018 (ratio only): HER2/CEP17 ratio ≥ 2.0 positive",
    ("ER", "IHC"): "ASCO/CAP 2020: ≥ 1% of tumour nuclei positive",
    ("PR", "IHC"): "ASCO/CAP 2020: ≥ 1% of tumour nuclei positive",
    ("PD-L1", "TPS"): "TPS ≥ 50% high, 1–49% low, < 1% negative",
    ("PD-L1", "CPS"): "CPS ≥ 1 positive",
    ("TMB", ""): "≥ 10 mutations/Mb high (FDA tissue-agnostic cut-off)",
}
_IHC_SCORE = re.compile(r"^\s*([0-3])\s*\+?\s*$")


class BiomarkerError(ValueError):
    """A biomarker row that cannot be read."""


@dataclass
class BiomarkerRecord:
    source_ref: str
    source_key: str
    name: str
    method: str
    value_text: str
    value_number: float | None
    unit: str
    status: str
    status_rule: str
    measured_on: date | None
    loinc: str = ""


def _number(text: str) -> float | None:
    match = re.fullmatch(r"\s*[<>≥≤]?=?\s*(\d+(?:\.\d+)?)\s*%?\s*", text)
    return float(match.group(1)) if match else None


def derive_status(name: str, method: str, value_text: str, number: float | None) -> tuple[str, str]:
    """The status implied by a score, with the rule used (``("", "")`` when none applies)."""
    method = method or ("IHC" if name in {"ER", "PR", "HER2"} else "")
    if name == "HER2" and method == "IHC":
        match = _IHC_SCORE.match(value_text)
        if match:
            score = int(match.group(1))
            status = {0: "negative", 1: "negative", 2: "equivocal", 3: "positive"}[score]
            return status, RULES[("HER2", "IHC")]
    if number is None:
        return "", ""
    if name == "HER2" and method == "ISH":
        return ("positive" if number >= 2.0 else "negative"), RULES[("HER2", "ISH")]
    if name in {"ER", "PR"} and method == "IHC":
        return ("positive" if number >= 1 else "negative"), RULES[(name, "IHC")]
    if name == "PD-L1" and method == "TPS":
        status = "high" if number >= 50 else "low" if number >= 1 else "negative"
        return status, RULES[("PD-L1", "TPS")]
    if name == "PD-L1" and method == "CPS":
        return ("positive" if number >= 1 else "negative"), RULES[("PD-L1", "CPS")]
    if name == "TMB":
        return ("high" if number >= 10 else "low"), RULES[("TMB", "")]
    return "", ""


def normalise_biomarker(
    *,
    name: str,
    method: str,
    value: str,
    unit: str,
    status: str,
    measured_on: date | None,
    source_ref: str,
    source_key: str,
    loinc: str = "",
) -> BiomarkerRecord:
    """Check and normalise one biomarker result.

    Raises:
        BiomarkerError: unknown biomarker or method, or neither a value nor a status.
    """
    canonical = NAMES.get(name.strip().lower())
    if canonical is None:
        raise BiomarkerError(
            f"“{name[:40]}” is not a biomarker OncoBoard records (ER, PR, HER2, PD-L1, MSI, MMR, "
            "TMB)"
        )
    method_key = METHODS.get(method.strip().lower())
    if method_key is None:
        raise BiomarkerError(f"“{method[:20]}” is not a method (IHC, ISH, TPS, CPS, PCR, NGS)")
    value = value.strip()
    number = _number(value)
    if value and number is None and not _IHC_SCORE.match(value) and value.lower() not in STATUSES:
        raise BiomarkerError(f"“{value[:40]}” is not a score, percentage or status")
    given = STATUSES.get(status.strip().lower(), "") if status.strip() else ""
    if status.strip() and not given:
        raise BiomarkerError(f"“{status[:40]}” is not a status OncoBoard knows")
    if not given and value.lower() in STATUSES:
        given = STATUSES[value.lower()]
    derived, rule = derive_status(canonical, method_key, value, number)
    if not (given or derived or value):
        raise BiomarkerError("give a value or a status")
    if canonical in {"ER", "PR"} and number is not None and not 0 <= number <= 100:
        raise BiomarkerError(f"{canonical} is a percentage of cells (0–100)")
    if canonical == "PD-L1" and method_key == "TPS" and number is not None and number > 100:
        raise BiomarkerError("PD-L1 TPS is a percentage of tumour cells (0–100)")
    if canonical == "TMB" and number is not None and number > 5000:
        raise BiomarkerError("TMB above 5000 mutations/Mb is not plausible")
    return BiomarkerRecord(
        source_ref=source_ref,
        source_key=source_key,
        name=canonical,
        method=method_key,
        value_text=value[:60],
        value_number=number,
        unit=unit.strip()[:20] or ("mut/Mb" if canonical == "TMB" and number is not None else ""),
        status=given or derived,
        status_rule="" if given else rule,
        measured_on=measured_on,
        loinc=loinc,
    )
