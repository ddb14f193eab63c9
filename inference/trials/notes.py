"""Pull PatientFacts out of a free-text clinical note (rule-based, conservative).

Used when a patient exists only as a narrative (benchmark topics, referral letters). Facts found
in the note are dated ``as_of`` (the note date) and sourced ``note``; everything else stays None.
"""

from __future__ import annotations

import datetime as dt
import re

from inference.trials.extract.common import negated
from inference.trials.extract.markers import BRAIN_RE, extract_biomarkers
from inference.trials.lexicon import ANALYTE_PATTERNS, THERAPY_CLASS_PATTERNS, to_canonical
from inference.trials.schema import Biomarker, Fact, LabValue, PatientFacts, PriorTherapy

_AGE_RE = re.compile(
    r"\b(\d{1,3})[- ]?(?:year|yr)s?[- ]old|\b(\d{1,3})\s?(?:yo|y/o|y\.o\.)\b|\baged?\s+(\d{1,3})\b",
    re.I,
)
_MONTHS_RE = re.compile(r"\b(\d{1,2})[- ]?(month|week|day)s?[- ]old", re.I)
_FEMALE_RE = re.compile(r"\b(?:woman|female|girl|lady|she|her|mrs|ms|mother)\b", re.I)
_MALE_RE = re.compile(r"\b(?:man|male|boy|gentleman|he|his|him|mr|father)\b", re.I)
_STAGE_RE = re.compile(r"\bstage\s+(IV|III|II|I)([ABC])?\b", re.I)
_ECOG_RE = re.compile(r"\b(?:ECOG|performance status)\D{0,20}?([0-4])\b", re.I)
_KPS_RE = re.compile(r"\b(?:Karnofsky|KPS)\D{0,20}?(\d{2,3})\b", re.I)
_NOTE_UNIT = (
    r"(?:x|×)?\s*(?:10\^?\(?9\)?/L|10\^?\(?3\)?/(?:uL|µL|mm3)|K/uL|/uL|/µL|/mm3|g/dL|g/L|"
    r"mg/dL|µmol/L|umol/L|mL/min|U/L|IU/L)"
)
_THERAPY_CUE = re.compile(
    r"\b(?:treated with|received|receiving|s/p|status post|started on|on|after|course of|"
    r"cycles? of|history of)\b",
    re.I,
)
# Plausible ranges that identify the unit of a bare number written in a note.
_BARE_UNITS = {
    "hemoglobin": ((3.0, 25.0, "g/dL"), (30.0, 250.0, "g/L")),
    "platelets": ((5.0, 1500.0, "10^9/L"), (5000.0, 1_500_000.0, "/uL")),
    "anc": ((0.0, 50.0, "10^9/L"), (100.0, 50000.0, "/uL")),
    "wbc": ((0.1, 200.0, "10^9/L"), (200.0, 200000.0, "/uL")),
    "creatinine": ((0.1, 15.0, "mg/dL"), (20.0, 1500.0, "umol/L")),
    "bilirubin": ((0.1, 40.0, "mg/dL"),),
    "ast": ((5.0, 5000.0, "U/L"),),
    "alt": ((5.0, 5000.0, "U/L"),),
}


def _labs(text: str, as_of: dt.date) -> tuple[LabValue, ...]:
    found: dict[str, LabValue] = {}
    for analyte, pattern in ANALYTE_PATTERNS.items():
        flags = 0 if analyte in {"ast", "alt"} else re.I
        for m in re.finditer(pattern, text, flags):
            value_match = re.match(
                rf"\s*(?:level|count|of|was|is|:|=|at)?\s*(?:level|count|of|was|is|:|=)?\s*"
                rf"(\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)\s*({_NOTE_UNIT})?",
                text[m.end() : m.end() + 40],
                re.I,
            )
            if not value_match or analyte in found:
                continue
            value = float(value_match.group(1).replace(",", ""))
            unit = (value_match.group(2) or "").strip()
            source = "note"
            if not unit:
                for low, high, guess in _BARE_UNITS.get(analyte, ()):
                    if low <= value <= high:
                        unit, source = guess, "note (unit read from the value's range)"
                        break
            if unit and to_canonical(analyte, value, unit) is not None:
                found[analyte] = LabValue(analyte, value, unit, as_of, source)
    return tuple(found.values())


def _flag(pattern: re.Pattern[str] | str, text: str, as_of: dt.date) -> Fact[bool] | None:
    m = re.search(pattern, text, re.I) if isinstance(pattern, str) else pattern.search(text)
    if not m:
        return None
    return Fact(not negated(text, m.start(), window=50), as_of, "note")


# A current pregnancy: "pregnant", "pregnancy", "N weeks' gestation", "gestational age". Obstetric
# shorthand (G2P1) counts earlier pregnancies and says nothing about now, so it is not a cue.
_PREGNANCY_RE = re.compile(r"\bpregnan\w*|\bgestation\w*", re.I)
# Mentions that are not the patient being pregnant now: a test result, a past or wished-for
# pregnancy, or one that ended.
_PREGNANCY_TEST_RE = re.compile(
    r"\bpregnancy test\b[^.;]{0,120}?\b(?P<result>negative|positive)\b|"
    r"\b(?P<before>negative|positive)\b[^.;]{0,20}\bpregnancy test\b",
    re.I,
)
_NOT_CURRENT_BEFORE_RE = re.compile(
    r"\b(?:history of|previous|prior|past|earlier|ectopic|tubal|molar|terminated|"
    r"miscarri\w*|lost|desires?|wish\w*|wants?|plans?|planning|trying|attempting|unable|"
    r"after|following)\b[^.;]{0,30}$",
    re.I,
)
_NOT_CURRENT_AFTER_RE = re.compile(
    r"^[^.;]{0,40}\b(?:at age \d+|years? ago|in (?:19|20)\d\d)\b", re.I
)


def _pregnancy(text: str, as_of: dt.date) -> Fact[bool] | None:
    """Whether the note says the patient is pregnant now (None: it does not say).

    A pregnancy test's result decides; otherwise the first mention that is about a current
    pregnancy (not negated, not past, wished for or ended) says pregnant, and a negated one
    ("not pregnant", "denies pregnancy") says not pregnant.
    """
    test = _PREGNANCY_TEST_RE.search(text)
    if test:
        result = (test.group("result") or test.group("before")).lower()
        return Fact(result == "positive", as_of, "note")
    for m in _PREGNANCY_RE.finditer(text):
        before, after = text[max(0, m.start() - 60) : m.start()], text[m.end() : m.end() + 40]
        if _NOT_CURRENT_BEFORE_RE.search(before) or _NOT_CURRENT_AFTER_RE.search(after):
            continue
        return Fact(not negated(text, m.start(), window=50), as_of, "note")
    return None


def facts_from_note(patient_id: str, text: str, as_of: dt.date) -> PatientFacts:
    """Extract the facts a note states explicitly.

    Args:
        patient_id: identifier to carry.
        text: the note.
        as_of: the note date; extracted facts are dated with it.

    Returns:
        PatientFacts with ``note_text`` set to the note.
    """
    age: float | None = None
    m = _AGE_RE.search(text)
    if m:
        age = float(next(g for g in m.groups() if g))
    else:
        months = _MONTHS_RE.search(text)
        if months:
            per_year = {"month": 12.0, "week": 52.0, "day": 365.0}[months.group(2).lower()]
            age = round(float(months.group(1)) / per_year, 3)
    female = len(_FEMALE_RE.findall(text))
    male = len(_MALE_RE.findall(text))
    sex = "female" if female > male else "male" if male > female else None
    stage_match = _STAGE_RE.search(text)
    stage = (
        Fact(stage_match.group(1).upper() + (stage_match.group(2) or "").upper(), as_of, "note")
        if stage_match
        else None
    )
    ecog_match = _ECOG_RE.search(text)
    kps_match = _KPS_RE.search(text)
    biomarkers: list[Biomarker] = []
    for sentence in re.split(r"(?<=[.;])\s+", text):
        for s in extract_biomarkers(sentence):
            if s.biomarker is None:
                continue
            status = s.biomarker.status
            if not s.present:
                status = "wild-type" if status == "mutated" else "negative"
            biomarkers.append(
                Biomarker(s.biomarker.gene, status, s.biomarker.variant, as_of, "note")
            )
    therapies: list[PriorTherapy] = []
    for name, pattern in THERAPY_CLASS_PATTERNS.items():
        for tm in re.finditer(pattern, text, re.I):
            before = text[max(0, tm.start() - 40) : tm.start()]
            if _THERAPY_CUE.search(before) and not negated(text, tm.start()):
                therapies.append(PriorTherapy(name=name, source="note"))
                break
    pregnant = _pregnancy(text, as_of)
    diagnosis = " ".join(
        s.strip()
        for s in re.split(r"(?<=[.;])\s+", text)
        if re.search(
            r"cancer|carcinoma|tumou?r|lymphoma|leuka?emia|sarcoma|melanoma|myeloma|"
            r"glioma|metasta|malignan|neoplasm",
            s,
            re.I,
        )
    )
    return PatientFacts(
        patient_id=patient_id,
        as_of=as_of,
        age_years=age,
        sex=sex,
        diagnosis_text=diagnosis,
        stage=stage,
        ecog=Fact(int(ecog_match.group(1)), as_of, "note") if ecog_match else None,
        karnofsky=Fact(int(kps_match.group(1)), as_of, "note") if kps_match else None,
        labs=_labs(text, as_of),
        biomarkers=tuple(biomarkers),
        prior_therapies=tuple(therapies),
        brain_metastases=_flag(BRAIN_RE, text, as_of),
        liver_metastases=_flag(
            r"(?:liver|hepatic) metasta\w+|metasta\w+ to the liver", text, as_of
        ),
        pregnant=pregnant,
        note_text=text,
    )
