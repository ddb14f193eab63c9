"""Rule-based extraction of structure from one atomic criterion line.

Each extractor looks for one kind of content and returns zero or more :class:`Structure`. The
rules are deliberately conservative: a line they do not recognise yields nothing and stays free
text (judged unknown), rather than a guessed structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inference.trials.lexicon import (
    ANALYTE_PATTERNS,
    DRUG_SUFFIX_RE,
    GENE_PATTERNS,
    THERAPY_CLASS_PATTERNS,
    tumour_sites,
)
from inference.trials.schema import (
    BiomarkerRequirement,
    CriterionKind,
    LabThreshold,
    NumericBound,
    TherapyRequirement,
)


@dataclass(frozen=True)
class Structure:
    """What one extractor found; ``alternative`` marks an "or" link to the previous structure."""

    kind: CriterionKind
    present: bool = True
    bound: NumericBound | None = None
    lab: LabThreshold | None = None
    biomarker: BiomarkerRequirement | None = None
    therapy: TherapyRequirement | None = None
    sex: str = ""
    terms: tuple[str, ...] = ()
    alternative: bool = False


_CMP_WORDS: list[tuple[str, str]] = [
    (
        r"≥|≧|>=|=>|⩾|greater than or equal to|more than or equal to|higher than or equal to|"
        r"equal to or (?:greater|more|higher) than|at least|no (?:less|fewer|lower) than|"
        r"not (?:less|lower|fewer) than|minimum(?: of)?|min\.?",
        ">=",
    ),
    (
        r"≤|≦|<=|=<|⩽|less than or equal to|lower than or equal to|"
        r"equal to or (?:less|lower) than|no (?:more|greater|higher) than|"
        r"not (?:more|greater|higher) than|not (?:to )?exceed(?:ing)?|up to|at most|"
        r"maximum(?: of)?|max\.?|within",
        "<=",
    ),
    (r">|(?:greater|more|higher) than|above|over|exceeding|in excess of", ">"),
    (r"<|(?:less|lower|fewer) than|below|under", "<"),
]
_CMP_RE = re.compile("|".join(f"(?P<c{i}>{p})" for i, (p, _) in enumerate(_CMP_WORDS)), re.I)
_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_ULN = (
    r"(?:\s*(?:x|×|X|\*|times|-fold|fold)\s*|\s+)?(?:the\s+)?(?:institutional\s+|upper\s+)?"
    r"(?:ULN|IULN|upper\s+limits?\s+of\s+(?:the\s+)?(?:institutional\s+)?normal(?:\s+range)?)"
)
_COUNT_UNIT = (
    r"\s*(?:x|×|X|\*)\s*10\s*(?:\^|\*\*|\*|\s)?\s*\(?(?P<exp>\d)\)?\s*(?:cells\s*)?/\s*"
    r"(?P<per>L|l|µL|μL|uL|ul|mcL|mm3|mm\^3|mm³)|\s*(?:x|×)\s*(?P<lost>10[39])\s*/\s*(?P<per2>L|l)"
)
_PLAIN_UNIT = (
    r"\s*(?P<unit>(?:cells\s*)?/\s*(?:µL|μL|uL|ul|mcL|mm3|mm\^3|mm³|cumm|cu\.?\s?mm)|"
    r"g/dL|g/dl|gm/dL|g/L|g/l|mg/dL|mg/dl|mg%|µmol/L|μmol/L|umol/L|micromol/L|mmol/L|"
    r"mL/min(?:ute)?(?:/1\.73\s?m(?:2|\^2|²))?|ml/min(?:/1\.73\s?m(?:2|\^2|²))?|"
    r"U/L|IU/L|%|G/L|K/µL|K/uL)"
)
_THRESHOLD_RE = re.compile(
    rf"(?P<cmp>{_CMP_RE.pattern})?\s*:?\s*{_NUM}(?:(?P<uln>{_ULN})|(?P<count>{_COUNT_UNIT})|"
    rf"{_PLAIN_UNIT})?(?:\s+(?:or\s+)?(?P<suffix>or more|or greater|or higher|or above|or less|"
    rf"or lower|or below))?",
    re.I,
)
_NORMAL_RE = re.compile(
    rf"(?P<cmp>{_CMP_RE.pattern})\s*(?:the\s+)?(?:institutional\s+)?"
    r"(?:ULN|upper limit of (?:the\s+)?(?:institutional\s+)?normal)|"
    r"within normal (?:institutional )?limits|"
    r"\bnormal\b",
    re.I,
)
_NEG_CUE_RE = re.compile(
    r"\b(?:no|not|without|absence of|free of|never|none|neither|nor|lack of|negative for|"
    r"excluding|exclude|denies)\b",
    re.I,
)
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_WORD_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "zero": 0}


def _cmp(match: re.Match[str]) -> str | None:
    text = match.group("cmp")
    if not text:
        return None
    inner = _CMP_RE.fullmatch(text.strip())
    if not inner:
        return None
    for index, (_, symbol) in enumerate(_CMP_WORDS):
        if inner.group(f"c{index}"):
            return symbol
    return None


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _negated(text: str, start: int, window: int = 60) -> bool:
    clause = re.split(r"[;.]|\bbut\b|\bexcept\b", text[max(0, start - window) : start])[-1]
    cues = list(_NEG_CUE_RE.finditer(clause))
    if not cues:
        return False
    cue = cues[-1]
    # "no more than", "not less than" are comparators, not negations.
    tail = clause[cue.start() :].lower()
    return not re.match(r"(?:no|not)\s+(?:more|less|greater|fewer|lower|higher)\b", tail)


# ------------------------------------------------------------------ labs
def _analyte_mentions(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for key, pattern in ANALYTE_PATTERNS.items():
        for m in re.finditer(pattern, text, re.I if key not in {"ast", "alt"} else 0):
            spans.append((m.start(), m.end(), key))
    spans.sort()
    # Drop overlaps: "creatinine clearance" wins over "creatinine", first match over nested ones.
    kept: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if kept and span[0] < kept[-1][1]:
            continue
        # "Absolute neutrophil count (ANC)": the abbreviation repeats the same analyte.
        if kept and kept[-1][2] == span[2] and span[0] - kept[-1][1] <= 3:
            continue
        kept.append(span)
    return kept


def extract_labs(text: str) -> list[Structure]:
    """Find lab thresholds, e.g. "AST/ALT <= 2.5 x ULN (<= 5 x ULN with liver metastases)"."""
    mentions = _analyte_mentions(text)
    out: list[Structure] = []
    pending: list[str] = []
    for index, (_, end, key) in enumerate(mentions):
        next_start = mentions[index + 1][0] if index + 1 < len(mentions) else len(text)
        segment = text[end:next_start]
        if key in pending:
            continue
        lab = _threshold(key, segment)
        if lab is None:
            if len(segment) <= 14 and re.fullmatch(r"[\s/,()A-Za-z]*", segment or " "):
                pending.append(key)
            else:
                pending = []
            continue
        between = text[mentions[index - 1][1] : mentions[index][0]] if index else ""
        for shared in [*pending, key]:
            out.append(
                Structure(
                    kind=CriterionKind.LAB,
                    lab=LabThreshold(
                        analyte=shared,
                        comparator=lab.comparator,
                        value=lab.value,
                        unit=lab.unit,
                        uln_multiple=lab.uln_multiple,
                        value_with_liver_metastases=lab.value_with_liver_metastases,
                    ),
                    alternative=bool(out)
                    and bool(re.search(r"\bor\b", between, re.I))
                    and shared == key,
                )
            )
        pending = []
    return out


def _threshold(analyte: str, segment: str) -> LabThreshold | None:
    # The number must come soon after the analyte name ("ANC >= 1500/uL", "bilirubin: 1.5 x ULN").
    window = segment[:70]
    for match in _THRESHOLD_RE.finditer(window):
        if match.start() > 45:
            break
        if re.match(r"\s*(?:days?|weeks?|months?|years?|hours?)\b", window[match.end() :], re.I):
            continue
        comparator = _cmp(match)
        suffix = (match.group("suffix") or "").lower()
        if comparator is None and suffix:
            comparator = (
                ">=" if suffix.split()[-1] in {"more", "greater", "higher", "above"} else "<="
            )
        if comparator is None:
            continue
        value = _num(match.group("num"))
        if match.group("uln"):
            unit, uln = "xULN", True
        elif match.group("count"):
            exp = match.group("exp") or (match.group("lost") or "10")[-1]
            per = (match.group("per") or match.group("per2") or "L").lower()
            unit, uln = f"10^{exp}/{'L' if per == 'l' else 'uL'}", False
        elif match.group("unit"):
            unit, uln = match.group("unit").replace(" ", ""), False
        elif analyte in {"anc", "platelets", "wbc"} and value >= 1000:
            # A bare count of a thousand or more can only be per microlitre (1,500 = 1.5 x 10^9/L).
            unit, uln = "/uL", False
        elif analyte == "inr":
            unit, uln = "ratio", False
        else:
            continue
        liver = None
        rest = window[match.end() :] + segment[70:160]
        alt = re.search(rf"{_NUM}{_ULN}[^.;]{{0,60}}?\b(?:liver|hepatic)", rest, re.I) or re.search(
            rf"\b(?:liver|hepatic)\b[^.;]{{0,60}}?{_NUM}{_ULN}", rest, re.I
        )
        if uln and alt:
            liver = _num(alt.group("num"))
        return LabThreshold(analyte, comparator, value, unit, uln, liver)
    normal = _NORMAL_RE.search(window[:40])
    if normal and analyte in {"bilirubin", "ast", "alt", "creatinine", "alkaline_phosphatase"}:
        comparator = _cmp(normal) if normal.groupdict().get("cmp") else "<="
        if comparator in {"<=", "<"}:
            return LabThreshold(analyte, comparator, 1.0, "xULN", True, None)
    return None


# ------------------------------------------------------------------ performance status
_ECOG_RE = re.compile(
    r"ECOG|Eastern Cooperative Oncology Group|Zubrod|WHO performance|WHO PS|"
    r"performance status|\bPS\b",
    re.I,
)
_KPS_RE = re.compile(r"Karnofsky|\bKPS\b|Lansky", re.I)


def _range_after(text: str, start: int, low: int, high: int) -> NumericBound | None:
    segment = text[start : start + 70]
    number = r"(\d{1,3})"
    patterns = [
        (rf"{number}\s*%?\s*(?:-|–|to|through)\s*{number}", "range"),
        (rf"{number}\s*,\s*{number}\s*(?:,\s*)?(?:,|or|and)\s*{number}", "list3"),
        (rf"{number}\s*(?:or|and|/|,)\s*{number}(?!\s*(?:months|weeks|%))", "list2"),
    ]
    best: tuple[int, NumericBound] | None = None
    for pattern, form in patterns:
        m = re.search(pattern, segment)
        if not m:
            continue
        values = [int(g) for g in m.groups()]
        if not all(low <= v <= high for v in values):
            continue
        if form == "range":
            bound = NumericBound(low=values[0], high=values[1])
        else:
            bound = NumericBound(low=min(values), high=max(values))
        if best is None or m.start() < best[0]:
            best = (m.start(), bound)
    cmp_match = re.search(rf"(?P<cmp>{_CMP_RE.pattern})\s*(?:of\s+)?{number}", segment, re.I)
    if cmp_match and (best is None or cmp_match.start() < best[0]):
        value = int(cmp_match.group(cmp_match.lastindex or 1))
        value = int(re.findall(r"\d+", cmp_match.group(0))[-1])
        symbol = _cmp(cmp_match)
        if low <= value <= high and symbol:
            best = (cmp_match.start(), _bound_from(symbol, value))
    if best:
        return best[1]
    single = re.search(rf"(?:of|:|score|=|is)\s*{number}\b(?!\s*(?:-|to|or|and|,))", segment)
    if single and low <= int(single.group(1)) <= high:
        value = int(single.group(1))
        return NumericBound(low=value, high=value)
    return None


def _bound_from(symbol: str, value: float, unit: str = "") -> NumericBound:
    if symbol in {">=", ">"}:
        return NumericBound(low=value, low_inclusive=symbol == ">=", unit=unit)
    return NumericBound(high=value, high_inclusive=symbol == "<=", unit=unit)


def extract_performance_status(text: str, context: str = "") -> list[Structure]:
    """ECOG / WHO / Zubrod (0-4) or Karnofsky / Lansky (0-100) limits."""
    out: list[Structure] = []
    kps = _KPS_RE.search(text)
    ecog = _ECOG_RE.search(text) or (
        re.search(r"performance status", context, re.I) and re.match(r"\s*(?:ECOG|\d)", text)
    )
    if ecog:
        start = ecog.end() if isinstance(ecog, re.Match) else 0
        end = kps.start() if kps and kps.start() > start else len(text)
        bound = _range_after(text[:end], start, 0, 4)
        if bound:
            out.append(Structure(CriterionKind.PERFORMANCE_STATUS, bound=bound, terms=("ecog",)))
    if kps:
        bound = _range_after(text, kps.end(), 0, 100)
        if bound and (bound.low is None or bound.low >= 10):
            out.append(
                Structure(
                    CriterionKind.PERFORMANCE_STATUS,
                    bound=bound,
                    terms=("karnofsky",),
                    alternative=bool(out),
                )
            )
    return out


# ------------------------------------------------------------------ age
def extract_age(text: str, context: str = "") -> list[Structure]:
    """Age limits in years ("Age >= 18 years", "aged 18-75", "18 and over" under "Age:")."""
    has_age = re.search(r"\bage[sd]?\b|years? old|years? of age|\byrs?\b", text, re.I) or (
        context.lower().startswith("age")
    )
    if not has_age or re.search(r"gestational|bone age|menopaus|childbearing", text, re.I):
        return []
    if re.search(r"\b(?:diagnos|onset|at the time of)\w*", text, re.I) and not re.match(
        r"\s*age", text, re.I
    ):
        return []
    years = r"(?:\s*(?:years?|yrs?|y)(?:\s*(?:of age|old))?)?"
    m = re.search(rf"(?:between\s+)?(\d{{1,3}}){years}\s*(?:-|–|to|and)\s*(\d{{1,3}}){years}", text)
    if m and re.search(r"\bage|\byears|old", text[max(0, m.start() - 30) : m.end() + 20], re.I):
        low, high = int(m.group(1)), int(m.group(2))
        if low < high <= 120:
            return [Structure(CriterionKind.AGE, bound=NumericBound(low, high, unit="years"))]
    m = re.search(
        rf"(\d{{1,3}}){years}\s*(?:or|and)\s*(older|over|above|greater|more|younger|under|less|below)",
        text,
        re.I,
    )
    if m:
        symbol = (
            ">=" if m.group(2).lower() in {"older", "over", "above", "greater", "more"} else "<="
        )
        return [Structure(CriterionKind.AGE, bound=_bound_from(symbol, int(m.group(1)), "years"))]
    m = re.search(rf"(?P<cmp>{_CMP_RE.pattern})\s*(?:the\s+age\s+of\s+)?(\d{{1,3}})\b", text, re.I)
    if m is not None and "within" not in m.group("cmp").lower():
        value = int(re.findall(r"\d+", m.group(0))[-1])
        age_symbol = _cmp(m)
        if age_symbol and value <= 120:
            return [Structure(CriterionKind.AGE, bound=_bound_from(age_symbol, value, "years"))]
    return []


# ------------------------------------------------------------------ life expectancy
def extract_life_expectancy(text: str, context: str = "") -> list[Structure]:
    """Life-expectancy limits, converted to months."""
    if not (
        re.search(r"life expectancy|expected survival|survival expectancy", text, re.I)
        or context.lower().startswith("life expectancy")
    ):
        return []
    m = re.search(
        rf"(?P<cmp>{_CMP_RE.pattern})?\s*(?:of\s+)?(\d+(?:\.\d+)?)\s*(days?|weeks?|months?|years?)",
        text,
        re.I,
    )
    if not m:
        return []
    value = float(re.findall(r"\d+(?:\.\d+)?", m.group(0))[-1])
    unit = m.group(m.lastindex or 1).lower().rstrip("s")
    months = round(value * _UNIT_DAYS[unit] / 30.4375, 2) if unit != "month" else value
    symbol = _cmp(m) if m.group("cmp") else ">="
    if symbol is None:
        return []
    return [Structure(CriterionKind.LIFE_EXPECTANCY, bound=_bound_from(symbol, months, "months"))]


# ------------------------------------------------------------------ simple flags
_BRAIN_RE = re.compile(
    r"(?:brain|CNS|central nervous system|cerebral|intracranial)\s*(?:\([^)]{1,20}\)\s*)?"
    r"(?:metasta\w+|lesions?|involvement|disease|mets)|metasta\w+\s+(?:to|in)\s+the\s+"
    r"(?:brain|central nervous system|CNS)|leptomeningeal",
    re.I,
)
_BRAIN_QUALIFIERS = (
    "untreated",
    "symptomatic",
    "active",
    "progressive",
    "unstable",
    "uncontrolled",
    "progressing",
)


def extract_flags(text: str) -> list[Structure]:
    """Brain metastases, measurable disease, pregnancy and sex-only lines."""
    out: list[Structure] = []
    brain = _BRAIN_RE.search(text)
    if brain:
        qualifiers = tuple(q for q in _BRAIN_QUALIFIERS if re.search(rf"\b{q}\b", text, re.I))
        out.append(
            Structure(
                CriterionKind.BRAIN_METASTASES,
                present=not _negated(text, brain.start()),
                terms=qualifiers,
            )
        )
    measurable = re.search(
        r"(?<!non-)(?<!non )measurable\s+(?:disease|lesions?|tumou?rs?)", text, re.I
    )
    if measurable and not re.search(r"non-?\s?measurable|evaluable", text, re.I):
        out.append(
            Structure(
                CriterionKind.MEASURABLE_DISEASE, present=not _negated(text, measurable.start())
            )
        )
    pregnancy = re.search(r"pregnan\w*|lactat\w+|breast[- ]?feed\w*|nursing", text, re.I)
    if pregnancy and not re.search(r"contracept|birth control|agree|abstinen", text, re.I):
        negative_test = re.search(r"negative\s+(?:serum\s+|urine\s+)?pregnancy\s+test", text, re.I)
        present = False if negative_test else not _negated(text, pregnancy.start())
        out.append(Structure(CriterionKind.PREGNANCY, present=present))
    sex = re.fullmatch(
        r"\s*(?:must be\s+)?(female|male|women|men)(?:\s+(?:patients|subjects|participants))?"
        r"(?:\s+only)?\s*\.?\s*",
        text,
        re.I,
    )
    if sex:
        word = sex.group(1).lower()
        out.append(
            Structure(CriterionKind.SEX, sex="female" if word in {"female", "women"} else "male")
        )
    return out


# ------------------------------------------------------------------ biomarkers
_STATUS_AFTER = re.compile(
    r"^[\s-]*(?:[A-Z]\d{2,4}[A-Z]?\s*|gene\s+|protein\s+|receptor\s+|status\s*:?\s*|"
    r"expression\s+|test\s+)*"
    r"(?:is\s+|was\s+)?(?P<s>positive|pos\b|\+|negative|neg\b|-(?=[\s,/;)]|$)|wild[- ]?type|\bWT\b|"
    r"non-?mutated|mutat\w+|mutant|amplif\w+|over-?expres\w+|rearrange\w+|fusion|translocation|"
    r"high|-H\b|low|3\+|deficient|proficient|alteration|altered)",
    re.I,
)
_STATUS_BEFORE = re.compile(
    r"(?P<s>positive|negative|wild[- ]?type|mutated|mutant|activating|sensiti[sz]ing|amplified|"
    r"mutations?|rearranged|rearrangements?|fusions?)\s+(?:for\s+|in\s+|of\s+|the\s+)*$",
    re.I,
)
_VARIANT_RE = re.compile(
    r"\b([A-Z]\d{2,4}(?:[A-Z]|del|ins|\*|X)?)\b|exon\s*\d+\s*(?:deletion|"
    r"insertion|skipping|mutation)s?",
    re.I,
)


def _status_word(word: str, gene: str) -> str:
    w = word.lower()
    if w in {"positive", "pos", "+", "3+", "-h"} or w.startswith("over"):
        return "positive" if gene not in {"MSI", "TMB"} else "high"
    if w in {"negative", "neg", "-"}:
        return "negative"
    if w.startswith("wild") or w in {"wt", "non-mutated", "nonmutated", "proficient"}:
        return "wild-type" if gene not in {"ER", "PR", "HR", "HER2", "PD-L1", "MMR"} else "negative"
    if w.startswith(("mutat", "mutant", "activating", "sensiti", "alteration", "altered")):
        return "mutated"
    if w.startswith("amplif"):
        return "amplified"
    if w.startswith(("rearrang", "fusion", "translocation")):
        return "fusion"
    if w == "high":
        return "high"
    if w == "low":
        return "low"
    if w == "deficient":
        return "positive"
    return ""


def extract_biomarkers(text: str) -> list[Structure]:
    """Biomarker and variant requirements with their negation ("EGFR wild-type", "no ALK")."""
    out: list[Structure] = []
    if re.search(r"triple[- ]negative|\bTNBC\b", text, re.I):
        for gene in ("ER", "PR", "HER2"):
            out.append(
                Structure(CriterionKind.BIOMARKER, biomarker=BiomarkerRequirement(gene, "negative"))
            )
    seen: set[str] = set()
    msi = re.search(
        r"MSI-H\b|MSI-high|microsatellite instability[- ]high|\bdMMR\b|mismatch repair[- ]"
        r"deficien\w+|deficient\s+(?:\(d\)\s+)?(?:DNA\s+)?mismatch repair",
        text,
        re.I,
    )
    if msi:
        seen.update({"MSI", "MMR"})
        out.append(
            Structure(
                CriterionKind.BIOMARKER,
                present=not _negated(text, msi.start(), window=40),
                biomarker=BiomarkerRequirement("MSI", "high"),
            )
        )
    for gene, pattern in GENE_PATTERNS.items():
        flags = 0 if gene in {"ER", "PR", "HR", "RET", "MET", "KIT", "ALK", "RAS"} else re.I
        for m in re.finditer(pattern, text, flags):
            if gene in seen:
                break
            after = text[m.end() : m.end() + 40]
            if re.match(
                r"[\s-]*(?:tyrosine kinase\s+)?(?:inhibitor|TKI|targeted|directed|"
                r"therap|antibod|blockade|agent)",
                after,
                re.I,
            ):
                continue
            status = ""
            s_after = _STATUS_AFTER.match(after)
            if s_after:
                status = _status_word(s_after.group("s"), gene)
            if not status:
                before = text[max(0, m.start() - 30) : m.start()]
                s_before = _STATUS_BEFORE.search(before)
                if s_before:
                    status = _status_word(s_before.group("s"), gene)
            if not status:
                continue
            # The variant belongs to this gene only up to the next conjunction or list break.
            own = re.split(r"\band\b|\bor\b|[,;]", text[m.end() : m.end() + 40])[0]
            variant_match = _VARIANT_RE.search(own)
            variant = variant_match.group(0) if variant_match else ""
            present = True
            if status in {"mutated", "positive", "fusion", "amplified", "high"}:
                present = not _negated(text, m.start(), window=40)
            seen.add(gene)
            out.append(
                Structure(
                    CriterionKind.BIOMARKER,
                    present=present,
                    biomarker=BiomarkerRequirement(gene, status, variant),
                )
            )
    return out


# ------------------------------------------------------------------ therapy
_WITHIN_RE = re.compile(
    r"within\s+(?:the\s+)?(?:last\s+|past\s+|previous\s+|preceding\s+)?(\d+|one|two|three|four|"
    r"five|six)\s*(days?|weeks?|months?|years?)|(\d+)\s*(days?|weeks?|months?)\s+(?:prior to|"
    r"before|of)\s+(?:the\s+)?(?:first|start|initiation|day 1|study|enrol|registration|"
    r"randomi|cycle)",
    re.I,
)
_SINCE_RE = re.compile(
    r"(?:at least|more than|>=?|≥)\s*(\d+)\s*(days?|weeks?|months?|years?)\s+(?:since|from|"
    r"after|must have (?:elapsed|passed))",
    re.I,
)
_LINES_RE = re.compile(
    r"(?P<cmp>at least|no more than|not more than|up to|a maximum of|maximum of|≤|<=|≥|>=|"
    r"fewer than|less than|more than)?\s*(?P<n>\d|one|two|three|four|five)\s*"
    r"(?:-|–|to)?\s*(?P<n2>\d)?\s*(?:or more\s+|or fewer\s+|or less\s+)?(?:prior\s+|previous\s+|"
    r"lines?\s+of\s+)?(?:systemic\s+)?(?:lines?|regimens?)\b"
    r"(?P<tail>\s*(?:or more|or fewer|or less))?",
    re.I,
)
_PRIOR_CUE_RE = re.compile(
    r"\b(?:prior|previous(?:ly)?|received|receiving|treated with|treatment with|exposure to|"
    r"exposed to|history of|naive|naïve|refractory|progress\w* (?:on|after|following)|"
    r"failed)\b",
    re.I,
)


def _therapy_mentions(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, int, str]] = []
    for key, pattern in THERAPY_CLASS_PATTERNS.items():
        for m in re.finditer(pattern, text, re.I):
            found.append((m.start(), m.end(), key))
    for m in DRUG_SUFFIX_RE.finditer(text):
        found.append((m.start(), m.end(), m.group(0).lower()))
    # Longest mention first at each position; a mention inside an earlier one is the same
    # therapy ("EGFR tyrosine kinase inhibitor" is not also a generic "tyrosine kinase inhibitor").
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    unique: list[tuple[int, str]] = []
    last_end = -1
    for start, end, key in found:
        if start < last_end:
            continue
        unique.append((start, key))
        last_end = end
    return unique


def extract_therapy(text: str) -> list[Structure]:
    """Prior-therapy content: washouts, prior agents or classes, numbers of prior lines."""
    mentions = _therapy_mentions(text)
    out: list[Structure] = []
    lines = _LINES_RE.search(text)
    if lines and re.search(r"prior|previous|received|line|regimen", text, re.I):
        n1 = lines.group("n")
        n = int(n1) if n1.isdigit() else _WORD_NUM[n1.lower()]
        n2 = int(lines.group("n2")) if lines.group("n2") else None
        cmp = (lines.group("cmp") or "").lower()
        tail = (lines.group("tail") or "").lower() + lines.group(0).lower()
        low = high = None
        if n2 is not None:
            low, high = n, n2
        elif cmp in {"at least", "≥", ">="} or "or more" in tail:
            low = n
        elif cmp == "more than":
            low = n + 1
        elif (
            cmp
            in {"no more than", "not more than", "up to", "a maximum of", "maximum of", "≤", "<="}
            or "or fewer" in tail
            or "or less" in tail
        ):
            high = n
        elif cmp in {"fewer than", "less than"}:
            high = n - 1
        if low is not None or high is not None:
            agent = mentions[0][1] if mentions else "systemic therapy"
            out.append(
                Structure(
                    CriterionKind.PRIOR_THERAPY,
                    therapy=TherapyRequirement(agent=agent, min_lines=low, max_lines=high),
                )
            )
            return out
    if not mentions:
        return out
    within = _WITHIN_RE.search(text)
    since = _SINCE_RE.search(text)
    window = within or since
    if window:
        groups = [g for g in window.groups() if g]
        count = int(groups[0]) if groups[0].isdigit() else _WORD_NUM[groups[0].lower()]
        days = count * _UNIT_DAYS[groups[1].lower().rstrip("s")]
        # "completed at least 3 weeks prior to the start" is a minimum gap, not a recent dose.
        minimum_gap = window is within and bool(
            re.search(r"(?:at least|more than|>=?|≥)\s*$", text[: window.start()], re.I)
        )
        for pos, agent in mentions:
            present = not _negated(text, pos) if window is within and not minimum_gap else False
            out.append(
                Structure(
                    CriterionKind.WASHOUT,
                    present=present,
                    therapy=TherapyRequirement(agent=agent, within_days=days),
                    alternative=bool(out),
                )
            )
        return out
    if not _PRIOR_CUE_RE.search(text):
        return out
    naive = re.search(
        r"na[iï]ve|untreated|no prior|not (?:have )?(?:been )?(?:previously )?"
        r"(?:received|treated)",
        text,
        re.I,
    )
    for pos, agent in mentions:
        present = not (naive or _negated(text, pos))
        out.append(
            Structure(
                CriterionKind.PRIOR_THERAPY,
                present=present,
                therapy=TherapyRequirement(agent=agent),
                alternative=bool(out),
            )
        )
    return out


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
        and not _BRAIN_RE.search(text)
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
_PERMISSIVE_RE = re.compile(
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


def extract_structures(text: str, context: str = "") -> list[Structure]:
    """Run every extractor over one atomic criterion line.

    Args:
        text: the criterion line.
        context: the heading it sits under (e.g. "Age", "Hepatic"), used by a few extractors.

    Returns:
        The structures found, in a stable order; empty when nothing was recognised.
    """
    # "Prior hormonal therapy allowed" grants permission; it is not a requirement to check.
    text, permissive = split_permissive(text)
    if permissive and not text:
        return [Structure(CriterionKind.PERMISSIVE)]
    if _PERMISSIVE_RE.search(text):
        # A conditional permission ("allowed if stopped 4 weeks before") stays free text.
        return []
    labs = extract_labs(text)
    performance = extract_performance_status(text, context)
    age = [] if labs or performance else extract_age(text, context)
    life = extract_life_expectancy(text, context)
    flags = extract_flags(text)
    biomarkers = extract_biomarkers(text)
    therapy = [] if labs else extract_therapy(text)
    # The index cancer named in "other malignancy" criteria is not a condition to check.
    other = extract_other_malignancy(text)
    disease = [] if labs or performance or therapy or other else extract_condition_stage(text)
    return [*age, *performance, *life, *labs, *flags, *biomarkers, *therapy, *other, *disease]
