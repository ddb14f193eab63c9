"""Numeric criteria: lab thresholds, performance status, age and life expectancy."""

from __future__ import annotations

import re

from inference.trials.extract.common import UNIT_DAYS, Structure
from inference.trials.lexicon import (
    ANALYTE_PATTERNS,
)
from inference.trials.schema import (
    CriterionKind,
    LabThreshold,
    NumericBound,
)

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
    (r">|(?:greater|more|higher|older) than|above|over|exceeding|in excess of", ">"),
    (r"<|(?:less|lower|fewer|younger) than|below|under", "<"),
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
    # "Age 18+", "aged 65+ years": the plus sign is an open upper end.
    not_years = r"\d|months?|mos?|weeks?|wks?|days?"
    m = re.search(rf"\b(\d{{1,3}})\s*\+(?!\s*(?:{not_years})){years}", text, re.I)
    if m and int(m.group(1)) <= 120:
        return [Structure(CriterionKind.AGE, bound=_bound_from(">=", int(m.group(1)), "years"))]
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
    months = round(value * UNIT_DAYS[unit] / 30.4375, 2) if unit != "month" else value
    symbol = _cmp(m) if m.group("cmp") else ">="
    if symbol is None:
        return []
    return [Structure(CriterionKind.LIFE_EXPECTANCY, bound=_bound_from(symbol, months, "months"))]
