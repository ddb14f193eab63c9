"""The reference cohorts an expression profile is normalised and ranked against.

``reference_cohorts.json.gz`` (built by ``python -m inference.training.expression_reference``)
holds, per TCGA cohort: the genes of its RNA z-score table (PORPOISE) and, where a TPM table
exists (UCSC Xena via SurvPath: BLCA, COADREAD, STAD), the per-gene mean and standard deviation
of log2(TPM + 0.001) in the training cases of the first PORPOISE fold.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE_FILE = Path(__file__).with_name("reference_cohorts.json.gz")

#: OncoTree codes -> PORPOISE cohort key. The codes are those the cohorts' tables use, plus the
#: merged and renamed codes of the same tumours (COADREAD, GB, the head-and-neck subsites).
COHORT_OF: dict[str, str] = {
    "BLCA": "blca",
    **dict.fromkeys(
        ("BRCA", "IDC", "ILC", "MDLC", "IMMC", "MBC", "BRCNOS", "ACBC", "MPT", "SPC"), "brca"
    ),
    **dict.fromkeys(("COADREAD", "COAD", "READ", "MACR"), "coadread"),
    **dict.fromkeys(("GBM", "GB", "ASTR", "AASTR", "AOAST", "OAST", "ODG"), "gbmlgg"),
    **dict.fromkeys(("HNSC", "OCSC", "LXSC", "HPHSC", "OPHSC"), "hnsc"),
    "CCRCC": "kirc",
    "PRCC": "kirp",
    **dict.fromkeys(("HCC", "FLC", "HCCIHCH"), "lihc"),
    "LUAD": "luad",
    "LUSC": "lusc",
    **dict.fromkeys(("STAD", "DSTAD", "MSTAD", "PSTAD", "SSRCC", "TSTAD"), "stad"),
}


@dataclass(frozen=True)
class Log2TpmReference:
    """Per-gene mean and SD of log2(TPM + 0.001) in the reference cases."""

    source: str
    cases: int
    mean: Mapping[str, float]
    sd: Mapping[str, float]
    #: How well z-scores from this table agree with the cohort's z-score table (held-out cases).
    agreement: Mapping[str, float]


@dataclass(frozen=True)
class ReferenceCohort:
    key: str
    label: str  # e.g. "TCGA-BRCA"
    cases: int
    zscore_genes: frozenset[str]
    zscore_source: str
    log2tpm: Log2TpmReference | None


@dataclass(frozen=True)
class References:
    licence: str
    basis: str
    clip: float
    cohorts: Mapping[str, ReferenceCohort]


@cache
def references() -> References:
    raw = json.loads(gzip.decompress(REFERENCE_FILE.read_bytes()).decode("utf-8"))
    cohorts = {}
    for key, item in raw["cohorts"].items():
        tpm = item.get("log2tpm")
        cohorts[key] = ReferenceCohort(
            key=key,
            label=item["label"],
            cases=int(item["cases"]),
            zscore_genes=frozenset(item["zscore_genes"]),
            zscore_source=raw["zscore_source"],
            log2tpm=Log2TpmReference(
                source=tpm["source"],
                cases=int(tpm["cases"]),
                mean=dict(zip(tpm["genes"], tpm["mean"], strict=True)),
                sd=dict(zip(tpm["genes"], tpm["sd"], strict=True)),
                agreement=tpm["agreement"],
            )
            if tpm
            else None,
        )
    return References(
        licence=raw["licence"], basis=raw["basis"], clip=float(raw["clip"]), cohorts=cohorts
    )


@dataclass(frozen=True)
class CohortRoute:
    cohort: ReferenceCohort | None
    reason: str = ""


def cohort_for(oncotree_code: str | None) -> CohortRoute:
    """The reference cohort of a case's OncoTree code, or why there is none."""
    code = (oncotree_code or "").strip().upper()
    if not code:
        return CohortRoute(None, "the case has no cancer type (OncoTree code is blank)")
    key = COHORT_OF.get(code)
    if key is None or key not in references().cohorts:
        covered = ", ".join(c.label for c in references().cohorts.values())
        return CohortRoute(
            None,
            f"no TCGA expression reference cohort ships for OncoTree {code} (covered: {covered})",
        )
    return CohortRoute(references().cohorts[key])
