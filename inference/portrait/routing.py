"""Which validated portrait cancer type a case's OncoTree code belongs to, or why it abstains.

The portrait model is validated at the level of its cohorts (for example ``BRCA`` for breast
carcinoma of any histology, ``LUNG`` for the lung cohorts, which mix histologies). A case's
OncoTree code is mapped to that level here; a blank or unknown code is never routed by guesswork.
"""

from __future__ import annotations

from dataclasses import dataclass

#: OncoTree codes (present in the 2021 and 2025 trees) -> the portrait type validated for them.
#: Tissue-level codes that also hold non-carcinomas (BREAST, BOWEL, STOMACH, ...) are left out on
#: purpose; LUNG and OVARY are tissue-level because their cohorts are.
PORTRAIT_TYPE_OF: dict[str, str] = {
    **dict.fromkeys(
        ("BRCA", "IDC", "ILC", "MDLC", "IMMC", "MBC", "BRCNOS", "BRCANOS", "ACBC"),
        "BRCA",
    ),
    **dict.fromkeys(
        ("LUNG", "NSCLC", "LUAD", "LUSC", "LCLC", "SCLC", "NSCLCPD", "LUAS"),
        "LUNG",
    ),
    **dict.fromkeys(("COADREAD", "COAD", "READ", "MACR"), "COADREAD"),
    "PRAD": "PRAD",
    **dict.fromkeys(("SKCM", "MEL", "ACRM"), "SKCM"),
    **dict.fromkeys(("OVARY", "OVT", "HGSOC", "LGSOC", "SOC"), "OVARY"),
    "HCC": "HCC",
    "FL": "FL",
    "OPHSC": "OPHSC",
    **dict.fromkeys(("HNSC", "OCSC", "LXSC", "HPHSC", "HNSCUP", "SNSC"), "HNSC"),
    "BLCA": "BLCA",
    **dict.fromkeys(("STAD", "DSTAD", "TSTAD", "MSTAD", "SSRCC", "PSTAD"), "STAD"),
    **dict.fromkeys(("AML", "AMLNOS", "APLPMLRARA", "AMLMRC", "TAML"), "AML"),
}


@dataclass(frozen=True)
class Route:
    """Where a case goes.

    Attributes:
        cancer_type: the portrait type, or None when the case abstains.
        reason: why it abstains (empty when routed).
    """

    cancer_type: str | None
    reason: str = ""


def route(oncotree_code: str | None, covered: set[str] | frozenset[str]) -> Route:
    """Map a case's OncoTree code to a covered portrait type.

    Args:
        oncotree_code: the case's code (blank and None abstain).
        covered: types the loaded checkpoint covers (``bundle.reference_cohort``).

    Returns:
        The route, with the abstention reason a person can read.
    """
    code = (oncotree_code or "").strip().upper()
    if not code:
        return Route(None, "the case has no cancer type (OncoTree code is blank)")
    portrait_type = PORTRAIT_TYPE_OF.get(code)
    if portrait_type is None:
        return Route(None, f"no portrait model is validated for OncoTree {code}")
    if portrait_type not in covered:
        return Route(None, f"{code} ({portrait_type}) is not covered by the selected checkpoint")
    return Route(portrait_type)
