"""Build the expression reference cohorts and the hallmark percentile tables.

Usage (from the repository root)::

    python -m inference.training.expression_reference [--data ../shared/data]

Writes ``inference/expression/reference_cohorts.json.gz`` and
``inference/hallmarks/reference_percentiles.json.gz``. Both use only the training cases of the
first PORPOISE fold (``splits_0.csv``, column ``train``), so held-out fold 0 cases stay out of the
reference; the TPM table's agreement with the z-score table is measured on those held-out cases.

1. Per cohort with RNA (UCEC has none): the PORPOISE RNA z-scores (``<GENE>_rnaseq``), one row per
   case, clipped to [-10, 10] (the tables have z-scores in the thousands).
2. Hallmark set scores (:func:`inference.hallmarks.gene_sets.hallmark_scores`) and capability
   scores of the training cases; their 0th..100th percentiles.
3. For BLCA, COADREAD and STAD, the UCSC Xena log2(TPM + 0.001) table (SurvPath): per-gene mean and
   SD in the training cases (genes with SD below 0.05 dropped), and the median per-gene Pearson r
   between z-scores from it and the PORPOISE z-scores on the held-out cases.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inference.expression.reference import REFERENCE_FILE
from inference.hallmarks.capabilities import capability_map
from inference.hallmarks.gene_sets import hallmark_membership, hallmark_scores
from inference.hallmarks.profile import PERCENTILES_FILE, capability_scores

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
COHORTS = (
    "blca",
    "brca",
    "coadread",
    "gbmlgg",
    "hnsc",
    "kirc",
    "kirp",
    "lihc",
    "luad",
    "lusc",
    "stad",
)
XENA = ("blca", "coadread", "stad")
CLIP = 10.0
MIN_SD = 0.05
PORPOISE = (
    "tcga-porpoise-multimodal (mahmoodlab/PORPOISE commit 3390dc4, datasets_csv_mutsig): "
    "TCGA RNA-seq z-scores per gene, clipped to [-10, 10]"
)
XENA_SOURCE = (
    "tcga-survpath-pathways (mahmoodlab/SurvPath commit 3f73ddd) "
    "raw_rna_data/xena/<cohort>/rna_clean.csv: UCSC Xena TCGA log2(TPM + 0.001)"
)
LICENCE = (
    "Derived from TCGA open-access data through the PORPOISE and SurvPath tables (GPL-3.0, "
    "'non-commercial academic purposes' per their READMEs): get a licensing decision before "
    "commercial use."
)


def _porpoise(data: Path, cohort: str) -> tuple[pd.DataFrame, set[str], set[str]]:
    root = data / "tcga-porpoise-multimodal"
    path = root / "datasets_csv_mutsig" / f"tcga_{cohort}_all_clean.csv.zip"
    header = pd.read_csv(path, nrows=0).columns
    rna = [c for c in header if c.endswith("_rnaseq")]
    frame = pd.read_csv(path, usecols=["case_id", *rna]).drop_duplicates("case_id")
    frame = frame.set_index("case_id")
    frame.columns = [c.removesuffix("_rnaseq").upper() for c in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated()].clip(-CLIP, CLIP)
    split = pd.read_csv(root / "splits" / "5foldcv" / f"tcga_{cohort}" / "splits_0.csv")
    return frame, set(split["train"].dropna()), set(split["val"].dropna())


def _quantiles(values: np.ndarray) -> list[list[float]]:
    grid = np.linspace(0.0, 1.0, 101)
    return [[round(float(v), 4) for v in np.nanquantile(col, grid)] for col in values.T]


def _percentiles(cases: int, genes: list[str], values: np.ndarray) -> dict[str, Any]:
    membership = hallmark_membership(genes, min_members=1)
    set_scores = hallmark_scores(values, membership)
    caps = capability_scores(set_scores, membership)
    capability_keys = [c.key for c in capability_map().capabilities if c.scored]
    return {
        "cases": cases,
        "set_genes": {n: len(c) for n, c in zip(membership.names, membership.columns, strict=True)},
        "sets": dict(zip(membership.names, _quantiles(set_scores), strict=True)),
        "capabilities": dict(zip(capability_keys, _quantiles(caps), strict=True)),
    }


def _xena(
    data: Path, cohort: str, train: set[str], held_out: pd.DataFrame
) -> tuple[dict[str, Any], dict[str, Any]]:
    path = data / "tcga-survpath-pathways" / "datasets_csv" / "raw_rna_data" / "xena"
    table = pd.read_csv(path / cohort / "rna_clean.csv", index_col=0)
    table.columns = [c.upper() for c in table.columns]
    table = table.loc[~table.index.duplicated(), ~table.columns.duplicated()]
    reference = table.loc[table.index.isin(train)]
    mean, sd = reference.mean(axis=0), reference.std(axis=0, ddof=1)
    keep = sd[sd >= MIN_SD].index
    shared_cases = held_out.index.intersection(table.index)
    shared_genes = [g for g in keep if g in held_out.columns]
    z = ((table.loc[shared_cases, shared_genes] - mean[shared_genes]) / sd[shared_genes]).clip(
        -CLIP, CLIP
    )
    z_train = ((reference[keep] - mean[keep]) / sd[keep]).clip(-CLIP, CLIP)
    scores = _percentiles(len(reference), list(keep), z_train.to_numpy(dtype=float))
    r = [
        float(np.corrcoef(z[g], held_out.loc[shared_cases, g])[0, 1])
        for g in shared_genes
        if held_out.loc[shared_cases, g].std() > 0
    ]
    return {
        "source": XENA_SOURCE,
        "cases": len(reference),
        "genes": list(keep),
        "mean": [round(float(mean[g]), 4) for g in keep],
        "sd": [round(float(sd[g]), 4) for g in keep],
        "agreement": {
            "held_out_cases": len(shared_cases),
            "genes": len(r),
            "median_gene_pearson_r": round(float(np.median(r)), 3) if r else float("nan"),
        },
    }, scores


def build(data: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two files' contents (see the module docstring)."""
    names = {
        "blca": "TCGA-BLCA", "brca": "TCGA-BRCA", "coadread": "TCGA-COADREAD",
        "gbmlgg": "TCGA-GBMLGG", "hnsc": "TCGA-HNSC", "kirc": "TCGA-KIRC", "kirp": "TCGA-KIRP",
        "lihc": "TCGA-LIHC", "luad": "TCGA-LUAD", "lusc": "TCGA-LUSC", "stad": "TCGA-STAD",
    }  # fmt: skip
    basis = "training cases of PORPOISE fold 0 (splits_0.csv, column train)"
    references: dict[str, Any] = {
        "zscore_source": PORPOISE,
        "licence": LICENCE,
        "basis": basis,
        "clip": CLIP,
        "cohorts": {},
    }
    percentiles: dict[str, Any] = {"basis": basis, "licence": LICENCE, "cohorts": {}}
    for cohort in COHORTS:
        frame, train, held = _porpoise(data, cohort)
        reference = frame.loc[frame.index.isin(train)]
        genes = list(frame.columns)
        bases = {"zscore": _percentiles(len(reference), genes, reference.to_numpy(dtype=float))}
        tpm = None
        if cohort in XENA:
            tpm, bases["log2tpm"] = _xena(data, cohort, train, frame.loc[frame.index.isin(held)])
        references["cohorts"][cohort] = {
            "label": names[cohort],
            "cases": len(reference),
            "zscore_genes": genes,
            "log2tpm": tpm,
        }
        percentiles["cohorts"][cohort] = bases
        logger.info("%s: %d reference cases, %d genes", cohort, len(reference), len(genes))
    return references, percentiles


def _write(path: Path, content: dict[str, Any]) -> None:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    references, percentiles = build(args.data)
    _write(REFERENCE_FILE, references)
    _write(PERCENTILES_FILE, percentiles)
    for cohort, item in references["cohorts"].items():
        if item["log2tpm"]:
            logger.info("%s TPM agreement: %s", cohort, item["log2tpm"]["agreement"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
