"""Vocabulary shared by the criteria parser and the eligibility engine.

Small, hand-written tables: analyte synonyms with canonical units, biomarker genes, therapy
classes, and tumour sites. Kept apart so they can be reviewed by a clinician in one place.
"""

from __future__ import annotations

import re

# analyte key -> regex of its names in criteria text (case-insensitive unless noted).
ANALYTE_PATTERNS: dict[str, str] = {
    "anc": r"absolute\s+neutrophil(?:\s+count)?|\bANC\b|neutrophils?(?:\s+count)?|"
    r"absolute\s+granulocyte\s+count|\bAGC\b|granulocytes?",
    "platelets": r"platelets?(?:\s+count)?|\bPLT\b|thrombocytes?",
    "hemoglobin": r"ha?emoglobin|\bHgb\b|\bHb\b",
    "wbc": r"white\s+blood\s+cells?(?:\s+count)?|\bWBC\b|leukocytes?(?:\s+count)?",
    "creatinine_clearance": r"(?:calculated\s+|measured\s+)?creatinine\s+clearance|\bCrCl\b|"
    r"\bCLcr\b|glomerular\s+filtration\s+rate|\beGFR\b|\bGFR\b",
    "creatinine": r"(?:serum\s+)?creatinine|\bSCr\b",
    "bilirubin": r"(?:total\s+|serum\s+)?bilirubin|\bT\.?\s?bili\b",
    "ast": r"\bAST\b|\bSGOT\b|aspartate\s+(?:amino)?transaminase|aspartate\s+aminotransferase",
    "alt": r"\bALT\b|\bSGPT\b|alanine\s+(?:amino)?transaminase|alanine\s+aminotransferase",
    "alkaline_phosphatase": r"alkaline\s+phosphatase|\bALP\b",
    "albumin": r"(?:serum\s+)?albumin",
    "inr": r"\bINR\b|international\s+normali[sz]ed\s+ratio",
}
ANALYTE_LABELS = {
    "anc": "absolute neutrophil count",
    "platelets": "platelet count",
    "hemoglobin": "hemoglobin",
    "wbc": "white blood cell count",
    "creatinine_clearance": "creatinine clearance",
    "creatinine": "serum creatinine",
    "bilirubin": "total bilirubin",
    "ast": "AST",
    "alt": "ALT",
    "alkaline_phosphatase": "alkaline phosphatase",
    "albumin": "albumin",
    "inr": "INR",
}
# Canonical unit per analyte; eligibility compares in these units.
CANONICAL_UNITS = {
    "anc": "10^9/L",
    "platelets": "10^9/L",
    "wbc": "10^9/L",
    "hemoglobin": "g/dL",
    "creatinine": "mg/dL",
    "bilirubin": "mg/dL",
    "creatinine_clearance": "mL/min",
    "ast": "U/L",
    "alt": "U/L",
    "alkaline_phosphatase": "U/L",
    "albumin": "g/dL",
    "inr": "ratio",
}
_COUNT_ANALYTES = {"anc", "platelets", "wbc"}
# Molar masses for mass <-> molar conversions: creatinine 113.12 g/mol, bilirubin 584.66 g/mol.
_MOLAR = {"creatinine": 88.42, "bilirubin": 17.104, "hemoglobin": 0.6206}


def normalise_unit(unit: str) -> str:
    """Reduce the many spellings of a unit to a compact key ("x 10(9)/L" -> "10^9/l")."""
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("mcl", "ul")
    u = u.replace(" ", "").replace("×", "x").replace("*", "^")
    u = re.sub(r"^x", "", u)
    u = re.sub(r"10\((\d)\)", r"10^\1", u)
    u = re.sub(r"^109/", "10^9/", u)  # "× 109/L" is 10^9/L with the superscript lost
    u = re.sub(r"^103/", "10^3/", u)
    u = u.replace("cells/", "/").replace("mm^3", "mm3").replace("/cumm", "/mm3")
    return u.replace("giga/l", "10^9/l")


def to_canonical(analyte: str, value: float, unit: str) -> float | None:
    """Convert a lab value to the analyte's canonical unit.

    Args:
        analyte: canonical analyte key.
        value: the number.
        unit: the unit as written.

    Returns:
        The value in ``CANONICAL_UNITS[analyte]``, or None when the unit is unknown for it.
    """
    u = normalise_unit(unit)
    if analyte in _COUNT_ANALYTES:
        # For counts "G/L" is giga per litre, i.e. 10^9/L.
        if u in {"10^9/l", "10^3/ul", "10^3/mm3", "k/ul", "10^9", "g/l"}:
            return value
        if u in {"/ul", "/mm3", "ul", "mm3"}:
            return value / 1000.0
        if u in {"10^4/ul"}:
            return value * 10.0
        if u in {"10^5/ul"}:
            return value * 100.0
        if u in {"10^6/l"}:
            return value / 1000.0
        return None
    if analyte == "hemoglobin":
        return {"g/dl": value, "g/l": value / 10.0, "mmol/l": value / _MOLAR["hemoglobin"]}.get(u)
    if analyte in {"creatinine", "bilirubin"}:
        if u in {"mg/dl", "mg%"}:
            return value
        if u in {"umol/l", "mmol/l"}:
            factor = 1.0 if u == "umol/l" else 1000.0
            return value * factor / _MOLAR[analyte]
        return None
    if analyte == "creatinine_clearance":
        if u.startswith("ml/min") or u.startswith("ml/minute"):
            return value
        return None
    if analyte in {"ast", "alt", "alkaline_phosphatase"}:
        return value if u in {"u/l", "iu/l", "ui/l"} else None
    if analyte == "albumin":
        return {"g/dl": value, "g/l": value / 10.0}.get(u)
    if analyte == "inr":
        return value if u in {"", "ratio"} else None
    return None


# Biomarker name -> regex (case-sensitive: "ER" must not match "her" or "other").
GENE_PATTERNS: dict[str, str] = {
    "HER2": r"HER-?2(?:/neu)?|ERBB2|HER2neu",
    "EGFR": r"EGFR(?![a-z])",
    "ALK": r"ALK(?![a-z])",
    "ROS1": r"ROS-?1",
    "BRAF": r"BRAF",
    "KRAS": r"K-?RAS",
    "NRAS": r"N-?RAS",
    "RAS": r"(?<![KNH]-)(?<![KNH])RAS(?![a-z])",
    "ER": r"(?<![A-Za-z])ER(?![A-Za-z])|[Ee]strogen[- ]receptor|[Oo]estrogen[- ]receptor",
    "PR": r"(?<![A-Za-z])PG?R(?![A-Za-z])|[Pp]rogesterone[- ]receptor",
    "HR": r"(?<![A-Za-z])HR(?![A-Za-z])|[Hh]ormone[- ]receptor",
    "PD-L1": r"PD-?L1",
    "MSI": r"MSI(?:-H)?|[Mm]icrosatellite[- ]instab\w+",
    "MMR": r"d?MMR|[Mm]ismatch[- ]repair",
    "TMB": r"TMB|[Tt]umou?r mutational burden",
    "BRCA1": r"BRCA1",
    "BRCA2": r"BRCA2",
    "BRCA": r"BRCA(?![12])",
    "PIK3CA": r"PIK3CA",
    "MET": r"(?<![A-Za-z-])c?-?MET(?![a-z])",
    "RET": r"(?<![A-Za-z])RET(?![a-z])",
    "NTRK": r"NTRK[123]?",
    "FGFR": r"FGFR[1-4]?",
    "IDH1": r"IDH1",
    "IDH2": r"IDH2",
    "KIT": r"c-KIT|(?<![A-Za-z])KIT(?![a-z])",
    "FLT3": r"FLT-?3",
    "BCR-ABL": r"BCR-?ABL1?|Philadelphia[- ]chromosome|Ph\+",
    "CD20": r"CD20",
    "HPV": r"HPV",
}
GENE_ALIASES = {"ERBB2": "HER2", "HER-2": "HER2", "HER2/NEU": "HER2", "PDL1": "PD-L1"}
ALTERED = {"positive", "mutated", "amplified", "fusion", "high", "overexpressed"}
NOT_ALTERED = {"negative", "wild-type", "low"}

# therapy class -> member drugs (lower case). A criterion naming the class matches any member.
THERAPY_CLASSES: dict[str, tuple[str, ...]] = {
    "alk inhibitor": ("crizotinib", "alectinib", "ceritinib", "brigatinib", "lorlatinib"),
    "egfr inhibitor": ("osimertinib", "erlotinib", "gefitinib", "afatinib", "dacomitinib"),
    "anti-pd-1": ("pembrolizumab", "nivolumab", "cemiplimab", "dostarlimab"),
    "anti-pd-l1": ("atezolizumab", "durvalumab", "avelumab"),
    "anti-ctla-4": ("ipilimumab", "tremelimumab"),
    "platinum": ("cisplatin", "carboplatin", "oxaliplatin"),
    "taxane": ("paclitaxel", "docetaxel", "nab-paclitaxel", "cabazitaxel"),
    "anthracycline": ("doxorubicin", "epirubicin", "daunorubicin", "idarubicin"),
    "cdk4/6 inhibitor": ("palbociclib", "ribociclib", "abemaciclib"),
    "parp inhibitor": ("olaparib", "niraparib", "rucaparib", "talazoparib"),
    "anti-her2": ("trastuzumab", "pertuzumab", "ado-trastuzumab emtansine", "lapatinib"),
    "endocrine therapy": (
        "tamoxifen",
        "letrozole",
        "anastrozole",
        "exemestane",
        "fulvestrant",
    ),
    "braf inhibitor": ("vemurafenib", "dabrafenib", "encorafenib"),
    "mek inhibitor": ("trametinib", "cobimetinib", "binimetinib"),
    "vegf inhibitor": ("bevacizumab", "ramucirumab", "aflibercept"),
}
_CLASS_SUPERSETS = {
    "immune checkpoint inhibitor": ("anti-pd-1", "anti-pd-l1", "anti-ctla-4"),
    "immunotherapy": ("anti-pd-1", "anti-pd-l1", "anti-ctla-4"),
    "tyrosine kinase inhibitor": ("alk inhibitor", "egfr inhibitor"),
    "chemotherapy": ("platinum", "taxane", "anthracycline"),
}
# Regexes that name a therapy class in criteria text -> class key.
THERAPY_CLASS_PATTERNS: dict[str, str] = {
    "alk inhibitor": r"ALK[- ](?:tyrosine kinase )?inhibitors?|ALK[- ]TKIs?",
    "egfr inhibitor": r"EGFR[- ](?:tyrosine kinase )?inhibitors?|EGFR[- ]TKIs?",
    "anti-pd-1": r"anti-?PD-?1|PD-?1 (?:inhibitor|antibod|blockade)\w*",
    "anti-pd-l1": r"anti-?PD-?L1|PD-?L1 (?:inhibitor|antibod|blockade)\w*",
    "anti-ctla-4": r"anti-?CTLA-?4|CTLA-?4 (?:inhibitor|antibod)\w*",
    "immune checkpoint inhibitor": r"(?:immune )?checkpoint (?:inhibitor|blockade)\w*",
    "immunotherapy": r"immunotherap\w+",
    "platinum": r"platinum(?:-based)?",
    "taxane": r"taxanes?",
    "anthracycline": r"anthracyclines?",
    "cdk4/6 inhibitor": r"CDK\s?(?:4/6\s)?inhibitors?",
    "parp inhibitor": r"PARP inhibitors?",
    "anti-her2": r"anti-?HER-?2|HER-?2[- ]directed|HER-?2[- ]targeted",
    "endocrine therapy": r"endocrine therap\w+|hormonal therap\w+|hormone therap\w+",
    "braf inhibitor": r"BRAF inhibitors?",
    "mek inhibitor": r"MEK inhibitors?",
    "tyrosine kinase inhibitor": r"tyrosine kinase inhibitors?|\bTKIs?\b",
    "chemotherapy": r"chemotherap\w+|cytotoxic",
    "radiotherapy": r"radiotherap\w+|radiation(?: therapy)?|irradiation",
    "surgery": r"major surgery|surgery|surgical resection",
    "systemic therapy": r"systemic (?:anti-?cancer |anticancer )?(?:therap\w+|treatment)|"
    r"anti-?cancer therap\w+|anticancer treatment",
    "investigational agent": r"investigational (?:agent|drug|product)s?|study drug",
}
DRUG_SUFFIX_RE = re.compile(
    r"\b[a-z]{3,}(?:mab|tinib|nib|lisib|ciclib|parib|platin|taxel|rubicin|tecan|"
    r"fenib|metinib|zomib|lidomide|mustine|citabine|fosfamide|rafenib)\b",
    re.I,
)


# Cytotoxic drugs and regimen acronyms as oncologists record a line ("FOLFOX", "AC-T").
_CHEMOTHERAPY_RE = re.compile(
    r"chemo|cytotoxic|platin|taxel|rubicin|citabine|fosfamide|tecan|fluorouracil|5-?FU\b|"
    r"methotrexate|etoposide|vinorelbine|vincristine|vinblastine|eribulin|ixabepilone|"
    r"pemetrexed|temozolomide|mitomycin|bleomycin|dacarbazine|bendamustine|chlorambucil|"
    r"\b(?:FOLFOX\w*|FOLFIRI\w*|FOLFIRINOX|CAPOX|XELOX|XELIRI|AC(?:-?T)?|EC(?:-?T)?|FEC\w*|"
    r"TAC|TC|TCHP?|CMF|CHOP|R-?CHOP|ABVD|BEP|GEMOX|MVAC|ECF|EOX|FLOT)\b",
    re.I,
)
# Systemic treatments that are known not to be chemotherapy.
_NOT_CHEMOTHERAPY = {
    "endocrine therapy",
    "anti-her2",
    "anti-pd-1",
    "anti-pd-l1",
    "anti-ctla-4",
    "immunotherapy",
    "immune checkpoint inhibitor",
    "cdk4/6 inhibitor",
    "parp inhibitor",
    "egfr inhibitor",
    "alk inhibitor",
    "braf inhibitor",
    "mek inhibitor",
    "tyrosine kinase inhibitor",
    "vegf inhibitor",
    "radiotherapy",
    "surgery",
}


def classes_of_therapy(therapy_name: str, recorded: tuple[str, ...] = ()) -> set[str]:
    """The therapy classes a recorded therapy belongs to (its drugs, or the class named)."""
    name = therapy_name.lower()
    classes = {c.lower() for c in recorded}
    for cls, members in THERAPY_CLASSES.items():
        # "Endocrine therapy (agent not recorded)" names the class itself.
        if cls in name or any(m in name for m in members):
            classes.add(cls)
    if re.search(r"hormon\w* therap|endocrine", name):
        classes.add("endocrine therapy")
    if _CHEMOTHERAPY_RE.search(therapy_name):
        classes.add("chemotherapy")
    if re.search(r"radi", name):
        classes.add("radiotherapy")
    for parent, children in _CLASS_SUPERSETS.items():
        if classes & set(children):
            classes.add(parent)
    return classes


def therapy_class_unknown(therapy_name: str, recorded: tuple[str, ...] = ()) -> bool:
    """True when a recorded systemic therapy cannot be told to be chemotherapy or not."""
    classes = classes_of_therapy(therapy_name, recorded)
    return "chemotherapy" not in classes and not classes & _NOT_CHEMOTHERAPY


def therapy_matches(agent: str, therapy_name: str, therapy_classes: tuple[str, ...]) -> bool:
    """Return whether a recorded therapy (name and classes) falls under a criterion's agent.

    Args:
        agent: the class key or drug name from a criterion.
        therapy_name: the recorded therapy's name.
        therapy_classes: classes recorded for the therapy.

    Returns:
        True when the therapy is the agent, a member of the agent class, or of a narrower class.
    """
    agent = agent.lower()
    name = therapy_name.lower()
    classes = {c.lower() for c in therapy_classes}
    for cls, members in THERAPY_CLASSES.items():
        if any(m in name for m in members):
            classes.add(cls)
    for parent, children in _CLASS_SUPERSETS.items():
        if classes & set(children):
            classes.add(parent)
    if agent == "systemic therapy":
        # Local treatments recorded by name ("surgery", "radiotherapy") are not systemic.
        local = re.search(r"radi|surg|ectomy|resection", name)
        return (
            "radiotherapy" not in classes and "surgery" not in classes and name != "" and not local
        )
    if agent in name or agent in classes:
        return True
    if agent == "chemotherapy":
        return bool(_CHEMOTHERAPY_RE.search(therapy_name))
    if agent == "radiotherapy":
        return bool(re.search(r"radi", name))
    return False


# Tumour sites: key -> regex. Used to say a diagnosis clearly differs from a criterion.
TUMOUR_SITES: dict[str, str] = {
    "breast": r"breast|\bTNBC\b",
    "lung": r"lung|\bNSCLC\b|\bSCLC\b|pulmonary (?:adeno)?carcinoma",
    "colorectal": r"colo-?rectal|colon|rectal|rectum|\bCRC\b",
    "prostate": r"prostat",
    "pancreas": r"pancrea",
    "ovary": r"ovar|fallopian|peritoneal carcinoma",
    "stomach": r"gastric|stomach|gastro-?oesophageal junction|gastroesophageal junction",
    "esophagus": r"o?esophag",
    "liver": r"hepatocellular|\bHCC\b|liver cancer",
    "kidney": r"renal cell|\bRCC\b|kidney",
    "bladder": r"bladder|urothelial",
    "cervix": r"cervical cancer|cervix",
    "uterus": r"endometri|uterine",
    "head and neck": r"head and neck|\bHNSCC\b|oropharyn|laryn|nasopharyn",
    "thyroid": r"thyroid",
    "brain": r"gliom|glioblastoma|\bGBM\b|astrocytoma",
    "melanoma": r"melanoma",
    "sarcoma": r"sarcoma",
    "lymphoma": r"lymphoma|\bDLBCL\b",
    "leukemia": r"leuka?emia|\bAML\b|\bALL\b|\bCLL\b|\bCML\b",
    "myeloma": r"myeloma",
    "biliary": r"cholangio|biliary|gallbladder",
    "mesothelioma": r"mesothelioma",
}


def tumour_sites(text: str) -> set[str]:
    """Return the tumour-site keys mentioned in ``text``."""
    return {site for site, pattern in TUMOUR_SITES.items() if re.search(pattern, text, re.I)}
