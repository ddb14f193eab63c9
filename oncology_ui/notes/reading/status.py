"""Metastatic sites, menopausal and pregnancy status, and key comorbidities."""

from __future__ import annotations

import re
from collections.abc import Iterator

from oncology_ui.notes.reading.proposal import (
    COMORBIDITY,
    MENOPAUSAL_STATUS,
    METASTATIC_SITE,
    PREGNANCY,
    Flags,
    Proposal,
)

# --- metastatic sites and menopausal status ---------------------------------------------------

_SITES = {
    "brain": r"brain|cerebral|intracranial|CNS",
    "leptomeningeal": r"leptomeningeal",
    "liver": r"liver|hepatic",
    "bone": r"bones?|osseous|skeletal|bony",
    "lung": r"lungs?|pulmonary",
    "pleura": r"pleural",
    "adrenal": r"adrenals?",
    "peritoneum": r"peritoneal",
    "lymph node": r"(?:distant )?(?:lymph )?nodal|lymph nodes?",
    "skin": r"skin|cutaneous",
}
_SITE_WORD = "|".join(f"(?:{p})" for p in _SITES.values())
_SITE_LIST = rf"(?:{_SITE_WORD})(?:\s*(?:,|and|or|/)\s*(?:{_SITE_WORD}))*"
_MET_WORD = (
    r"metastas[ie]s|metastatic (?:disease|deposits?|lesions?)|mets|secondar(?:y|ies)|"
    r"deposits?|lesions?"
)
_METASTASIS = re.compile(
    rf"(?<![\w-])(?P<before>{_SITE_LIST})\s+(?:{_MET_WORD})(?![\w-])|"
    rf"(?<![\w-])(?:metastas[ie]s|metastatic(?: disease)?|mets|spread)\s+(?:to|in|of|involving)\s+"
    rf"(?:the\s+)?(?P<after>{_SITE_LIST})(?![\w-])",
    re.I,
)
# "Brain MRI negative": an imaging study of a site that found no disease.
_CLEAR_IMAGING = re.compile(
    r"(?<![\w-])(?P<site>brain|head|liver|bone)\s+(?:MRI|CT|scan|imaging|scintigraphy)\s*"
    r"(?:was|is|:)?\s*(?:negative|clear|unremarkable|normal)(?:\s+for\s+metastas[ie]s)?(?![\w-])",
    re.I,
)
_MENOPAUSE = re.compile(r"(?<![\w-])(?P<which>pre|peri|post)[- ]?menopausal(?![\w-])", re.I)


def _site_names(words: str) -> list[str]:
    out = []
    for part in re.split(r"\s*(?:,|and|or|/)\s*", words, flags=re.I):
        for site, pattern in _SITES.items():
            if re.fullmatch(pattern, part.strip(), re.I) and site not in out:
                out.append(site)
    return out


def site_proposals(text: str) -> Iterator[Proposal]:
    for m in _METASTASIS.finditer(text):
        words = m.group("before") or m.group("after")
        for site in _site_names(words):
            yield Proposal(
                METASTATIC_SITE, f"Metastasis: {site}", {"site": site}, m.start(), m.end()
            )
    for m in _CLEAR_IMAGING.finditer(text):
        site = {"head": "brain"}.get(m.group("site").lower(), m.group("site").lower())
        yield Proposal(
            METASTATIC_SITE,
            f"Metastasis: {site}",
            {"site": site},
            m.start(),
            m.end(),
            flags=Flags(negated=True),
        )
    for m in _MENOPAUSE.finditer(text):
        status = m.group("which").lower() + "menopausal"
        yield Proposal(
            MENOPAUSAL_STATUS, status.capitalize(), {"status": status}, m.start(), m.end()
        )


# --- pregnancy and key comorbidities -----------------------------------------------------------

# A test result is read as written; "pregnant" alone is left to ConText ("not pregnant").
_PREGNANCY_TEST = re.compile(
    r"(?<![\w-])(?P<before>negative|positive)\s+(?:serum\s+|urine\s+)?(?:beta[- ]?hCG|"
    r"pregnancy test)(?![\w-])|(?<![\w-])(?:serum\s+|urine\s+)?(?:beta[- ]?hCG|pregnancy test)"
    r"\s*(?:was|is|:)?\s*(?P<after>negative|positive)(?![\w-])",
    re.I,
)
_PREGNANT = re.compile(r"(?<![\w-])pregnant(?![\w-])", re.I)

#: Key comorbidities for eligibility, with their ICD-10-CM category (simple-icd-10-cm checks them).
COMORBIDITIES: dict[str, tuple[str, str]] = {
    r"type 2 diabetes(?: mellitus)?|T2DM|diabetes mellitus type 2|NIDDM": (
        "E11",
        "Type 2 diabetes",
    ),
    r"type 1 diabetes(?: mellitus)?|T1DM|IDDM": ("E10", "Type 1 diabetes"),
    r"hypertension|HTN": ("I10", "Hypertension"),
    r"(?:congestive )?heart failure|CHF|HFrEF|HFpEF": ("I50", "Heart failure"),
    r"coronary artery disease|CAD|ischa?emic heart disease": ("I25", "Coronary artery disease"),
    r"myocardial infarction|heart attack": ("I21", "Myocardial infarction"),
    r"atrial fibrillation|AF|AFib": ("I48", "Atrial fibrillation"),
    r"COPD|chronic obstructive pulmonary disease": ("J44", "COPD"),
    r"interstitial lung disease|ILD|pulmonary fibrosis|pneumonitis": (
        "J84",
        "Interstitial lung disease / pneumonitis",
    ),
    r"chronic kidney disease|CKD": ("N18", "Chronic kidney disease"),
    r"cirrhosis": ("K74", "Liver cirrhosis"),
    r"hepatitis B|HBV": ("B18.1", "Chronic hepatitis B"),
    r"hepatitis C|HCV": ("B18.2", "Chronic hepatitis C"),
    r"HIV": ("B20", "HIV"),
    r"rheumatoid arthritis": ("M06", "Rheumatoid arthritis"),
    r"systemic lupus(?: erythematosus)?|SLE": ("M32", "Systemic lupus erythematosus"),
    r"Crohn'?s(?: disease)?": ("K50", "Crohn's disease"),
    r"ulcerative colitis": ("K51", "Ulcerative colitis"),
    r"stroke|cerebrovascular accident|CVA": ("I63", "Stroke"),
    r"deep vein thrombosis|DVT|venous thromboembolism|VTE": ("I82", "Venous thromboembolism"),
    r"peripheral neuropathy|polyneuropathy": ("G62.9", "Peripheral neuropathy"),
}
# Abbreviations match only as written (capitals): "af", "cad", "sle" are words or parts of them.
_COMORBIDITY = re.compile(
    "|".join(
        f"(?P<c{i}>(?<![\\w-])(?:{pattern})(?![\\w-]))" for i, pattern in enumerate(COMORBIDITIES)
    )
)
_COMORBIDITY_I = re.compile(_COMORBIDITY.pattern, re.I)


def pregnancy_proposals(text: str) -> Iterator[Proposal]:
    tests = list(_PREGNANCY_TEST.finditer(text))
    for m in tests:
        positive = (m.group("before") or m.group("after")).lower() == "positive"
        yield Proposal(
            PREGNANCY,
            "Pregnant (positive test)" if positive else "Not pregnant (negative test)",
            {"status": "pregnant"},
            m.start(),
            m.end(),
            flags=Flags(negated=not positive),
        )
    for m in _PREGNANT.finditer(text):
        if any(t.start() <= m.start() < t.end() for t in tests):
            continue
        yield Proposal(PREGNANCY, "Pregnant", {"status": "pregnant"}, m.start(), m.end())


def comorbidity_proposals(text: str) -> Iterator[Proposal]:
    entries = list(COMORBIDITIES.values())
    for m in _COMORBIDITY_I.finditer(text):
        index = next(i for i, group in enumerate(m.groups()) if group is not None)
        written = m.group(0)
        # A short abbreviation counts only as written in the table (capitals: "AF", not "af").
        if len(written) <= 5 and not _COMORBIDITY.fullmatch(written):
            continue
        code, display = entries[index]
        yield Proposal(
            COMORBIDITY,
            display,
            {"condition": display, "icd10": code},
            m.start(),
            m.end(),
        )
