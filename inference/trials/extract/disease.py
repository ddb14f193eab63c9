"""Tumour type and stage, permissive wording, and other (prior) malignancies."""

from __future__ import annotations

import re

from inference.trials.extract.common import Structure
from inference.trials.extract.markers import BRAIN_RE
from inference.trials.lexicon import (
    tumour_sites,
)
from inference.trials.schema import (
    CriterionKind,
    NumericBound,
)

# ------------------------------------------------------------------ condition and stage
_STAGE_RE = re.compile(
    r"\b[Ss]tages?\s+(?P<list>(?:[0IV]{1,4}[ABC]?[123]?)(?:\s*(?:,|/|or|and|-|–|to)\s*(?:stage\s+)?"
    r"[0IV]{1,4}[ABC]?[123]?)*)\b"
)
_CONFIRMED_RE = re.compile(
    r"histologic\w*|cytologic\w*|patholog\w*|confirmed|diagnos\w+|documented|biopsy[- ]proven",
    re.I,
)
_CANCER_NOUN_RE = re.compile(
    r"cancer|carcinoma|tumou?r|neoplasm|malignan\w+|lymphoma|leuka?emia|myeloma|sarcoma|"
    r"melanoma|glioma|glioblastoma|mesothelioma|NSCLC|SCLC|HCC|RCC|CRC",
    re.I,
)


def extract_condition_stage(text: str) -> list[Structure]:
    """Tumour type (site keys) and stage / metastatic-setting requirements."""
    out: list[Structure] = []
    sites = tumour_sites(text)
    if sites and _CANCER_NOUN_RE.search(text) and _CONFIRMED_RE.search(text):
        present = not re.match(r"\s*(?:no|not|without)\b", text, re.I)
        out.append(Structure(CriterionKind.CONDITION, present=present, terms=tuple(sorted(sites))))
    stage = _STAGE_RE.search(text)
    stages: list[str] = []
    if stage:
        raw = re.findall(r"[0IV]{1,4}[ABC]?[123]?", stage.group("list"))
        range_form = re.search(
            r"([0IV]{1,4}[ABC]?)\s*(?:-|–|to)\s*(?:stage\s+)?([0IV]{1,4}[ABC]?)",
            stage.group("list"),
        )
        if range_form:
            order = ["0", "I", "II", "III", "IV"]
            lo = re.sub(r"[ABC123]", "", range_form.group(1))
            hi = re.sub(r"[ABC123]", "", range_form.group(2))
            if lo in order and hi in order and order.index(lo) <= order.index(hi):
                raw = [*raw, *order[order.index(lo) + 1 : order.index(hi)]]
        stages.extend(s for s in raw if re.fullmatch(r"0|I{1,3}[ABC]?[123]?|IV[ABC]?", s))
    if (
        re.search(r"\bmetasta(?:tic|sis|ses)\b", text, re.I)
        and not BRAIN_RE.search(text)
        and (_CANCER_NOUN_RE.search(text) or re.search(r"\bdisease\b", text, re.I))
        and not re.search(r"liver metasta|hepatic metasta|bone metasta", text, re.I)
    ):
        stages.append("metastatic")
    if re.search(r"locally advanced", text, re.I):
        stages.append("locally advanced")
    if stages:
        present = not re.match(r"\s*(?:no|not|without)\b", text, re.I)
        out.append(
            Structure(CriterionKind.STAGE, present=present, terms=tuple(dict.fromkeys(stages)))
        )
    return out


# Wording that may grant permission; a line with it is not read as a requirement.
PERMISSIVE_RE = re.compile(
    r"\b(?:is|are)?\s*(?:allowed|permitted|acceptable)\b|\bmay (?:have )?(?:received|be)\b|"
    r"\bare eligible\b|\b(?:may|can) (?:receive|continue|have had|be used)\b|\bis optional\b",
    re.I,
)
# Wording that certainly grants it ("may be" alone can announce an exclusion).
_PERMISSION_RE = re.compile(
    r"\b(?:is|are)?\s*(?:allowed|permitted|acceptable)\b|\bmay (?:have )?received\b|"
    r"\bmay be (?:eligible|included|enrolled|used|given|continued|receiving)\b|"
    r"\b(?:may|can) (?:receive|continue|have had|be used)\b|\bis optional\b",
    re.I,
)
# A permission with a condition attached ("allowed if discontinued 4 weeks before") still asks
# something of the patient; only the unconditional ones are informational.
_CONDITIONAL_RE = re.compile(
    r"\b(?:if|provided|unless|as long as|only|when|must|but|after|before|prior to|since|"
    r"at least|more than|less than|within|no more than|not more than|up to|except)\b",
    re.I,
)
# Clause ends: sentence punctuation, or the PDQ run-on "X allowed No concurrent Y".
# and the PDQ headings inside a run-on line ("... cancer Endocrine therapy: Prior ...").
_CLAUSE_SPLIT_RE = re.compile(
    r"(?<=[.;])\s+|(?<=\b[Aa]llowed)\s+(?=[A-Z])|(?<=\b[Pp]ermitted)\s+(?=[A-Z])|"
    r"\s+(?=[A-Z][a-z]+(?: [a-z]+)?: )"
)


def _drop_permission_note(match: re.Match[str]) -> str:
    # "(transfusion allowed)" only informs; "(50 and over allowed case by case)" and "(less
    # than 8.5 allowed if ...)" widen the requirement, so the line stays free text.
    note = match.group(0)
    widening = re.search(r"\d", note) or _CONDITIONAL_RE.search(note)
    return "" if _PERMISSION_RE.search(note) and not widening else note


def split_permissive(text: str) -> tuple[str, bool]:
    """Drop the clauses that only grant permission.

    Args:
        text: one criterion line.

    Returns:
        The text left to read as requirements, and whether any permissive clause was dropped.
        ``("", True)`` means the whole line is informational.
    """
    kept: list[str] = []
    dropped = False
    # "Progressive disease (patients in remission are eligible)": the note is set aside, the
    # requirement it qualifies stays.
    if re.search(r"\([^()]*\)", text):
        bare = re.sub(r"\s*\([^()]*\)", _drop_permission_note, text)
        if bare != text:
            text, dropped = bare, True
    for clause in _CLAUSE_SPLIT_RE.split(text):
        if not clause.strip():
            continue
        # The permission must be the clause's own statement, not a note in parentheses.
        allowed = _PERMISSION_RE.search(re.sub(r"\([^()]*\)", "", clause))
        # "No concurrent chemotherapy is allowed", "... is not permitted" prohibit.
        prohibits = re.match(r"\W*(?:no|not|none|without)\b", clause, re.I) or re.search(
            r"\b(?:not|no|never)\b[^.;]{0,60}\b(?:allowed|permitted|acceptable)\b", clause, re.I
        )
        if allowed and not _CONDITIONAL_RE.search(clause) and not prohibits:
            dropped = True
            continue
        kept.append(clause.strip())
    return " ".join(kept), dropped


# ------------------------------------------------------------------ other (prior) malignancy
_OTHER_CANCER_RE = re.compile(
    r"\b(?:other|another|second|secondary|additional|concurrent|concomitant|coexisting|"
    r"synchronous|prior|previous|past|history of)\s+"
    r"(?:(?:invasive|active|primary|malignant|metastatic|solid|prior|previous|concurrent|current|"
    r"systemic|or|and|history of|diagnosis of|non-?hematologic\w*|haematologic\w*|"
    r"hematologic\w*)\s+){0,4}"
    r"(?:malignan(?:cy|cies|t diseases?|t tumou?rs?|t neoplasms?)|cancers?|carcinomas?|"
    r"neoplasms?|neoplastic disease|primary (?:tumou?rs?|malignan\w+|cancers?))\b"
    r"(?![- ](?:treatment|therap|surg|drug|medic|directed|related|care|regimen|agent|"
    r"diagnos|type|cells?\b|patients?|trials?|stud))",
    re.I,
)
# "History of tumor or malignancies other than Kaposi's sarcoma", "no malignancy other than".
_OTHER_THAN_RE = re.compile(r"\bmalignan(?:cy|cies|t diseases?)(?=\s+other than\b)", re.I)
_CARVE_OUT_RE = re.compile(
    r"\b(?:except|exception|exceptions|other than|excluding|unless|apart from|besides|"
    r"but not)\b",
    re.I,
)
_YEARS_RE = re.compile(
    r"(?:within|in)\s+(?:the\s+)?(?:last|past|previous|preceding|prior)?\s*"
    r"(\d+|one|two|three|four|five|ten)\s*(?:\(\d+\)\s*)?years?|"
    r"(?:<=|≤|<)\s*(\d+)\s*years?|"
    r"(?:disease|recurrence|relapse)[- ]free\s+(?:for\s+)?(?:at least\s+|>=?\s*|≥\s*)?"
    r"(\d+|one|two|three|four|five|ten)\s*(?:\(\d+\)\s*)?years?|"
    r"(\d+|one|two|three|four|five|ten)\s*years?\s+(?:prior|before)",
    re.I,
)
_YEAR_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}
SKIN_CANCER_RE = re.compile(
    r"basal[- ]cell|squamous[- ]cell (?:carcinoma |cancer )?(?:of|on) the skin|"
    r"squamous[- ]cell skin|skin cancer|skin carcinoma|non-?\s?melanoma|nonmelanoma\w*|"
    r"\bBCC\b|\bcSCC\b",
    re.I,
)
IN_SITU_RE = re.compile(r"in[- ]situ|\bCIS\b|\bDCIS\b|\bLCIS\b|\bCIN\b|intraepithelial", re.I)
_CURED_RE = re.compile(
    r"(?:curativ\w*|adequately|definitively|successfully|completely)\s+(?:treated|resected)"
    r"(?:\s+[\w-]+){0,4}?\s+(?:malignan\w*|cancers?|tumou?rs?|solid)|"
    r"(?:disease|recurrence)[- ]free|no evidence of (?:disease|recurrence)|in (?:complete )?"
    r"remission|\bcured\b|low risk of recurrence",
    re.I,
)


def extract_other_malignancy(text: str) -> list[Structure]:
    """ "No other malignancy within 5 years except basal cell ...": a cancer other than the index.

    ``terms`` holds the carve-outs ("except:skin", "except:in_situ", "except:cured",
    "except:site:<site>"); ``bound.high`` the look-back window in years when one is given.
    """
    match = _OTHER_CANCER_RE.search(text) or _OTHER_THAN_RE.search(text)
    if match is None:
        return []
    # "prior carcinoma of the breast" names a specific cancer: that is the condition criterion.
    named = re.match(r"\s+(?:of|in)\s+(?:the\s+)?(\S+(?:\s+\S+)?)", text[match.end() :])
    if named and tumour_sites(named.group(1)):
        return []
    before = text[: match.start()]
    if tumour_sites(text[max(0, match.start() - 25) : match.start()]) and not re.search(
        r"\b(?:other|another|second)\b", match.group(0), re.I
    ):
        return []
    present = not re.search(r"\b(?:no|not|without|free of|none)\b[^.;]{0,40}$", before, re.I)
    carve = _CARVE_OUT_RE.search(text, match.start())
    terms: list[str] = []
    if carve is not None:
        rest = text[carve.end() :]
        if SKIN_CANCER_RE.search(rest):
            terms.append("except:skin")
        if IN_SITU_RE.search(rest):
            terms.append("except:in_situ")
        cured = _CURED_RE.search(rest)
        if cured and not re.search(r"skin|cervi|in situ|basal|squamous", cured.group(0), re.I):
            terms.append("except:cured")
        terms.extend(f"except:site:{site}" for site in sorted(tumour_sites(rest)))
    years = _YEARS_RE.search(text, match.start())
    bound = None
    if years is not None:
        raw = next(g for g in years.groups() if g)
        count = int(raw) if raw.isdigit() else _YEAR_WORDS[raw.lower()]
        bound = NumericBound(high=float(count), unit="years")
    return [
        Structure(CriterionKind.PRIOR_MALIGNANCY, present=present, bound=bound, terms=tuple(terms))
    ]
