"""The cancer diagnosis as written ("invasive ductal carcinoma of the left breast", "lung
adenocarcinoma", "glioblastoma") as an OncoTree code, with its ICD-10-CM category where one
category covers it.

The phrases are a curated table, not a search of all 898 OncoTree names: names such as "Breast"
or "Melanoma" are words in every note, and a diagnosis proposed from "breast exam" would be noise.
Each entry names its OncoTree code (checked against the shipped release by a test) and the ICD-10-CM
category of the site where one exists; colorectal and head-and-neck carcinomas span several
categories, so they get none and the reviewer adds it. Where two phrases overlap the longer one
wins ("invasive ductal carcinoma of the breast" is IDC, not also "carcinoma of the breast").
Laterality, when written inside the phrase, is kept as the body site.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from oncology_ui.notes.reading.proposal import DIAGNOSIS, Proposal
from oncology_ui.patients.vocabularies import oncotree_lookup

_OF_BREAST = r"(?:of|in|involving)\s+(?:the\s+)?(?:(?:left|right|bilateral)\s+)?breast"
_BREAST = r"(?:(?:left|right)[- ]sided\s+|(?:left|right)\s+)?breast"
_LUNG = (
    r"(?:of|in)\s+(?:the\s+)?(?:(?:left|right)\s+)?(?:(?:upper|middle|lower)\s+lobe\s+"
    r"(?:of\s+the\s+)?)?lung"
)
# "Lung adenocarcinoma of the right upper lobe": the lobe carries the side.
_LOBE = r"(?:of|in)\s+(?:the\s+)?(?:left|right)\s+(?:upper|middle|lower)\s+lobe"
_SIDE = re.compile(r"\b(?:left|right|bilateral)\b", re.I)
_NOT_NON = r"(?<![\w-])(?<!non-)(?<!non )"

#: (pattern, OncoTree code, ICD-10-CM category or "").
_DIAGNOSES: tuple[tuple[str, str, str], ...] = (
    (rf"invasive\s+ductal\s+carcinoma(?:\s+{_OF_BREAST})?|\bIDC\b", "IDC", "C50.9"),
    (rf"(?:invasive\s+)?lobular\s+carcinoma(?:\s+{_OF_BREAST})?|\bILC\b", "ILC", "C50.9"),
    (r"ductal\s+carcinoma\s+in\s+situ|\bDCIS\b", "DCIS", "D05.1"),
    (
        rf"(?:invasive\s+)?{_BREAST}\s+(?:carcinoma|cancer|adenocarcinoma)|"
        rf"(?:invasive\s+)?(?:carcinoma|cancer|adenocarcinoma)\s+{_OF_BREAST}",
        "BRCA",
        "C50.9",
    ),
    (r"metaplastic\s+breast\s+(?:carcinoma|cancer)", "MBC", "C50.9"),
    (
        rf"lung\s+adenocarcinoma(?:\s+{_LOBE})?|"
        rf"adenocarcinoma\s+{_LUNG}",
        "LUAD",
        "C34.9",
    ),
    (
        rf"(?:lung\s+squamous\s+cell\s+carcinoma|squamous\s+cell\s+carcinoma\s+{_LUNG}|"
        r"squamous\s+(?:cell\s+)?(?:non-small\s+cell\s+)?lung\s+(?:cancer|carcinoma))",
        "LUSC",
        "C34.9",
    ),
    (rf"{_NOT_NON}small[- ]cell\s+lung\s+(?:cancer|carcinoma)|\bSCLC\b", "SCLC", "C34.9"),
    (r"non[- ]small[- ]cell\s+lung\s+(?:cancer|carcinoma)|\bNSCLC\b", "NSCLC", "C34.9"),
    (r"colorectal\s+(?:adenocarcinoma|carcinoma|cancer)", "COADREAD", ""),
    (
        r"(?:colon|colonic|(?:sigmoid|caecal|cecal)(?:\s+colon)?)\s+(?:adenocarcinoma|cancer|"
        r"carcinoma)|adenocarcinoma\s+of\s+the\s+(?:(?:ascending|descending|transverse|"
        r"sigmoid)\s+)?colon",
        "COAD",
        "C18.9",
    ),
    (r"rectal\s+(?:adenocarcinoma|cancer|carcinoma)|adenocarcinoma\s+of\s+the\s+rectum", "READ",
     "C20"),
    (r"glioblastoma(?:\s+multiforme)?(?:,?\s+IDH[- ]wild[- ]?type)?|\bGBM\b", "GB", "C71.9"),
    (r"oligodendroglioma", "ODG", "C71.9"),
    (r"astrocytoma,?\s+IDH[- ]mutant", "ASTR", "C71.9"),
    (
        r"high[- ]grade\s+serous\s+(?:(?:tubo-?)?ovarian\s+|fallopian\s+tube\s+)?"
        r"(?:carcinoma|cancer|adenocarcinoma)|\bHGSOC\b",
        "HGSOC",
        "C56.9",
    ),
    (r"low[- ]grade\s+serous\s+(?:ovarian\s+)?(?:carcinoma|cancer)", "LGSOC", "C56.9"),
    (r"pancreatic\s+(?:ductal\s+)?adenocarcinoma|\bPDAC\b", "PAAD", "C25.9"),
    (r"prostate\s+adenocarcinoma|adenocarcinoma\s+of\s+the\s+prostate", "PRAD", "C61"),
    (r"cutaneous\s+melanoma", "SKCM", "C43.9"),
    (r"clear[- ]cell\s+renal\s+cell\s+carcinoma|\bccRCC\b", "CCRCC", "C64.9"),
    (r"hepatocellular\s+carcinoma|\bHCC\b", "HCC", "C22.0"),
    (r"(?:gastric|stomach)\s+adenocarcinoma|adenocarcinoma\s+of\s+the\s+stomach", "STAD",
     "C16.9"),
    (r"(?:o?esophageal)\s+adenocarcinoma", "ESCA", "C15.9"),
    (r"(?:o?esophageal)\s+squamous\s+cell\s+carcinoma", "ESCC", "C15.9"),
    (r"urothelial\s+carcinoma\s+of\s+the\s+bladder|bladder\s+urothelial\s+carcinoma", "BLCA",
     "C67.9"),
    (r"endometrioid\s+(?:endometrial\s+)?(?:adeno)?carcinoma", "UEC", "C54.1"),
    (r"head\s+and\s+neck\s+squamous\s+cell\s+carcinoma|\bHNSCC\b", "HNSC", ""),
)  # fmt: skip


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    return tuple(
        (re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.I), code, icd)
        for pattern, code, icd in _DIAGNOSES
    )


def diagnosis_codes() -> tuple[tuple[str, str], ...]:
    """(OncoTree code, ICD-10-CM category) of every entry, for the tests that check them."""
    return tuple((code, icd) for _, code, icd in _DIAGNOSES)


def diagnosis_proposals(text: str) -> Iterator[Proposal]:
    """Every diagnosis phrase in ``text``; a phrase inside a longer one is left out."""
    found: list[tuple[int, int, str, str, str]] = []
    for pattern, code, icd in _patterns():
        for match in pattern.finditer(text):
            written_side = _SIDE.search(match.group(0))
            side = written_side.group(0).lower() if written_side else ""
            found.append((match.start(), match.end(), code, icd, side))
    # Longest first, then keep those not inside one already kept.
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    kept: list[tuple[int, int, str, str, str]] = []
    for item in found:
        if any(k[0] <= item[0] and item[1] <= k[1] for k in kept):
            continue
        kept.append(item)
    for start, end, code, icd, side in sorted(kept):
        node = oncotree_lookup(code)
        if node is None:
            continue
        label = f"{node.name} (OncoTree {code}" + (f", ICD-10-CM {icd})" if icd else ")")
        if side:
            label += f", {side}"
        yield Proposal(
            DIAGNOSIS,
            label,
            {
                "oncotree_code": code,
                "name": node.name,
                "icd10": icd,
                "laterality": side,
                "as_written": " ".join(text[start:end].split())[:200],
            },
            start,
            end,
        )
