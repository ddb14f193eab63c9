"""Simple yes/no flags (brain metastases, pregnancy...) and biomarker requirements."""

from __future__ import annotations

import re

from inference.trials.extract.common import Structure, negated
from inference.trials.lexicon import (
    GENE_PATTERNS,
)
from inference.trials.schema import (
    BiomarkerRequirement,
    CriterionKind,
)

# ------------------------------------------------------------------ simple flags
BRAIN_RE = re.compile(
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
    brain = BRAIN_RE.search(text)
    if brain:
        qualifiers = tuple(q for q in _BRAIN_QUALIFIERS if re.search(rf"\b{q}\b", text, re.I))
        out.append(
            Structure(
                CriterionKind.BRAIN_METASTASES,
                present=not negated(text, brain.start()),
                terms=qualifiers,
            )
        )
    measurable = re.search(
        r"(?<!non-)(?<!non )measurable\s+(?:disease|lesions?|tumou?rs?)", text, re.I
    )
    if measurable and not re.search(r"non-?\s?measurable|evaluable", text, re.I):
        out.append(
            Structure(
                CriterionKind.MEASURABLE_DISEASE, present=not negated(text, measurable.start())
            )
        )
    # "nursing" is breastfeeding, not a nursing home, a skilled nursing facility or nursing care.
    pregnancy = re.search(
        r"pregnan\w*|lactat\w+|breast[- ]?feed\w*|"
        r"(?<!skilled )nursing(?!\s+(?:homes?|facilit\w*|care|staff|assessments?|services?))",
        text,
        re.I,
    )
    if pregnancy and not re.search(r"contracept|birth control|agree|abstinen", text, re.I):
        negative_test = re.search(r"negative\s+(?:serum\s+|urine\s+)?pregnancy\s+test", text, re.I)
        present = False if negative_test else not negated(text, pregnancy.start())
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
                present=not negated(text, msi.start(), window=40),
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
                present = not negated(text, m.start(), window=40)
            seen.add(gene)
            out.append(
                Structure(
                    CriterionKind.BIOMARKER,
                    present=present,
                    biomarker=BiomarkerRequirement(gene, status, variant),
                )
            )
    return out
