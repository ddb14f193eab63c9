"""Loaders for the real public cohorts in ``../shared/data`` (see each folder's SOURCE.md).

Every loader returns a :class:`Cohort`: raw per-modality arrays (NaN = missing), follow-up in
months, events, and the published splits. Column meanings of the DeepSurv files come from the
DeepSurv paper (Katzman et al. 2018) because the h5/csv files do not store them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DAYS_PER_MONTH = 365.25 / 12.0

MCAT_COHORTS: tuple[str, ...] = ("blca", "brca", "gbmlgg", "luad", "ucec")
TCGA_COHORTS: tuple[str, ...] = (
    "blca", "brca", "coadread", "gbmlgg", "hnsc", "kirc",
    "kirp", "lihc", "luad", "lusc", "stad", "ucec",
)  # fmt: skip


@dataclass(frozen=True)
class Split:
    """Row indices of one train/test split."""

    name: str
    train: IntArray
    test: IntArray


@dataclass
class Cohort:
    """A survival cohort with named modality arrays.

    Attributes:
        name: cohort name (``metabric``, ``tcga_blca`` ...).
        ids: (N,) case identifiers.
        times: (N,) follow-up in months.
        events: (N,) 1 = event.
        tabular: modality -> (N, F) raw values; names in ``names``.
        names: modality -> feature names.
        log1p: modality -> names to log-transform.
        cancer_types: (N,) OncoTree code per case ('' unknown).
        treatment: (N, T) 0/1 or ``None``; names in ``treatments``.
        groups: (N,) source cohort code of each case (pan-cancer tables).
        splits: published splits.
        time_edges: grid in months for this cohort.
        outcome: what the event is.
        source: data folder and licence line for the model card.
    """

    name: str
    ids: npt.NDArray[np.str_]
    times: FloatArray
    events: FloatArray
    tabular: dict[str, FloatArray]
    names: dict[str, tuple[str, ...]]
    splits: list[Split]
    time_edges: tuple[float, ...]
    outcome: str
    source: str
    log1p: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cancer_types: npt.NDArray[np.str_] | None = None
    treatment: FloatArray | None = None
    treatments: tuple[str, ...] = ()
    groups: npt.NDArray[np.str_] | None = None


def _grid(step: float, horizon: float) -> tuple[float, ...]:
    return tuple(float(x) for x in np.arange(0.0, horizon + 1e-9, step))


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; pass --data pointing at the shared data folder (../shared/data)"
        )
    return path


_DEEPSURV: dict[str, dict[str, Any]] = {
    "metabric": {
        "file": "metabric_IHC4_clinical_train_test",
        "modalities": {
            "expression": (["x0", "x1", "x2", "x3"], ["MKI67", "EGFR", "PGR", "ERBB2"]),
            "clinical": (["x7", "x8"], ["er_positive", "age"]),
        },
        "treatment": (["x4", "x5", "x6"], ["hormone_therapy", "radiotherapy", "chemotherapy"]),
        "unit": 1.0,
        "grid": (6.0, 240.0),
        "outcome": "overall survival (METABRIC, months)",
    },
    "support": {
        "file": "support_train_test",
        "modalities": {
            "clinical": (
                ["x0", "x1", "x2", "x3", "x4", "x5", "x6"],
                ["age", "sex", "race", "comorbidities", "diabetes", "dementia", "cancer_status"],
            ),
            "labs": (
                ["x7", "x8", "x9", "x10", "x11", "x12", "x13"],
                [
                    "mean_blood_pressure",
                    "heart_rate",
                    "respiration_rate",
                    "temperature",
                    "sodium",
                    "white_blood_cells",
                    "creatinine",
                ],
            ),  # fmt: skip
        },
        "log1p": {"labs": ["white_blood_cells", "creatinine"]},
        "unit": DAYS_PER_MONTH,
        "grid": (3.0, 66.0),
        "outcome": "all-cause death of seriously ill hospitalised adults (SUPPORT, days -> months)",
    },
    "gbsg": {
        "file": "gbsg_cancer_train_test",
        "modalities": {
            "clinical": (
                ["x1", "x2", "x3", "x4", "x5", "x6"],
                [
                    "tumor_size_category",
                    "postmenopausal",
                    "age",
                    "positive_nodes",
                    "progesterone_receptor",
                    "estrogen_receptor",
                ],
            ),  # fmt: skip
        },
        "log1p": {"clinical": ["positive_nodes", "progesterone_receptor", "estrogen_receptor"]},
        "treatment": (["x0"], ["hormone_therapy"]),
        "unit": 1.0,
        "grid": (3.0, 84.0),
        "outcome": "recurrence-free survival (train Rotterdam, test GBSG, months)",
    },
    "whas": {
        "file": "whas_train_test",
        "modalities": {
            "clinical": (
                ["x0", "x1", "x2", "x3", "x4", "x5"],
                ["shock", "age", "sex", "bmi", "heart_failure", "mi_order"],
            ),
        },
        "unit": DAYS_PER_MONTH,
        "grid": (3.0, 66.0),
        "outcome": "death after myocardial infarction (WHAS, days -> months; not oncology)",
    },
}


def load_deepsurv(name: str, data: Path) -> Cohort:
    """Load a DeepSurv cohort with its fixed train/test split.

    Args:
        name: ``metabric``, ``support``, ``gbsg`` or ``whas``.
        data: the shared data folder.

    Returns:
        The cohort with one split named ``deepsurv``.
    """
    spec = _DEEPSURV[name]
    folder = _require(data / "deepsurv-survival-h5" / "csv")
    train = pd.read_csv(_require(folder / f"{spec['file']}_train.csv"))
    test = pd.read_csv(_require(folder / f"{spec['file']}_test.csv"))
    table = pd.concat([train, test], ignore_index=True)
    tabular, names = {}, {}
    for modality, (columns, labels) in spec["modalities"].items():
        tabular[modality] = table[columns].to_numpy(dtype=np.float64)
        names[modality] = tuple(labels)
    treatment, treatments = None, ()
    if "treatment" in spec:
        columns, labels = spec["treatment"]
        treatment = table[columns].to_numpy(dtype=np.float64)
        treatments = tuple(labels)
    n_train = len(train)
    step, horizon = spec["grid"]
    return Cohort(
        name=name,
        ids=np.array([f"{name}-{i}" for i in range(len(table))]),
        times=table["duration"].to_numpy(dtype=np.float64) / float(spec["unit"]),
        events=table["event"].to_numpy(dtype=np.float64),
        tabular=tabular,
        names=names,
        log1p={k: tuple(v) for k, v in spec.get("log1p", {}).items()},
        treatment=treatment,
        treatments=treatments,
        splits=[Split("deepsurv", np.arange(n_train), np.arange(n_train, len(table)))],
        time_edges=_grid(step, horizon),
        outcome=str(spec["outcome"]),
        source="deepsurv-survival-h5 (DeepSurv repository, MIT; cite the original studies)",
    )


def load_tcga(cohorts: tuple[str, ...], data: Path, *, name: str | None = None) -> Cohort:
    """Load one or several TCGA PORPOISE cohorts (union of genes; absent genes are missing).

    Args:
        cohorts: cohort codes, e.g. ``("blca",)`` or :data:`MCAT_COHORTS` for pan-cancer.
        data: the shared data folder.
        name: cohort name; defaults to ``tcga_<code>`` or ``tcga_pancancer``.

    Returns:
        The cohort with the five published folds (pan-cancer: fold k of every cohort together).
    """
    root = _require(data / "tcga-porpoise-multimodal")
    frames = []
    for code in cohorts:
        path = _require(root / "datasets_csv_mutsig" / f"tcga_{code}_all_clean.csv.zip")
        frame = pd.read_csv(path, index_col=0, low_memory=False)
        frame = frame.drop_duplicates("case_id").reset_index(drop=True)
        label = pd.DataFrame({"cohort": [code] * len(frame)})
        frames.append(pd.concat([frame, label], axis=1))
    table = pd.concat(frames, ignore_index=True, sort=False)
    columns = list(table.columns)
    names: dict[str, tuple[str, ...]] = {}
    tabular: dict[str, FloatArray] = {}
    for modality, suffix in (
        ("mutations", "_mut"),
        ("copy_number", "_cnv"),
        ("expression", "_rnaseq"),
    ):
        selected = sorted(c for c in columns if c.endswith(suffix))
        if selected:
            names[modality] = tuple(c[: -len(suffix)] for c in selected)
            tabular[modality] = table[selected].to_numpy(dtype=np.float64)
    names["clinical"] = ("age", "is_female")
    tabular["clinical"] = table[["age", "is_female"]].to_numpy(dtype=np.float64)
    ids = table["case_id"].astype(str).to_numpy()
    position = {case: i for i, case in enumerate(ids)}
    splits = []
    for fold in range(5):
        train_rows, test_rows = [], []
        for code in cohorts:
            split = pd.read_csv(
                _require(root / "splits" / "5foldcv" / f"tcga_{code}" / f"splits_{fold}.csv")
            )
            train_rows += [position[c] for c in split["train"].dropna() if c in position]
            test_rows += [position[c] for c in split["val"].dropna() if c in position]
        splits.append(
            Split(f"fold{fold}", np.array(sorted(train_rows)), np.array(sorted(test_rows)))
        )
    label = name or (f"tcga_{cohorts[0]}" if len(cohorts) == 1 else "tcga_pancancer")
    return Cohort(
        name=label,
        ids=ids,
        times=table["survival_months"].to_numpy(dtype=np.float64),
        events=1.0 - table["censorship"].to_numpy(dtype=np.float64),
        tabular=tabular,
        names=names,
        cancer_types=table["oncotree_code"].fillna("").astype(str).to_numpy(),
        groups=table["cohort"].astype(str).to_numpy(),
        splits=splits,
        time_edges=_grid(6.0, 120.0),
        outcome="overall survival (TCGA, months)",
        source=(
            "tcga-porpoise-multimodal (mahmoodlab/PORPOISE, GPL-3.0, non-commercial academic use; "
            "TCGA open access)"
        ),
    )


def load_cohort(name: str, data: Path) -> Cohort:
    """Load a cohort by name.

    Args:
        name: ``metabric``, ``support``, ``gbsg``, ``whas``, ``tcga_<code>`` or
            ``tcga_pancancer`` (the five MCAT cohorts).
        data: the shared data folder.

    Returns:
        The cohort.
    """
    if name in _DEEPSURV:
        return load_deepsurv(name, data)
    if name == "tcga_pancancer":
        return load_tcga(MCAT_COHORTS, data)
    if name.startswith("tcga_") and name[5:] in TCGA_COHORTS:
        return load_tcga((name[5:],), data)
    raise ValueError(f"unknown cohort {name!r}")


def gene_groups(genes: tuple[str, ...], data: Path) -> list[tuple[str, list[int]]]:
    """Group genes by the MCAT/PORPOISE gene-family signatures; the rest form one group.

    Args:
        genes: expression gene symbols in feature order.
        data: the shared data folder.

    Returns:
        (group name, member indices) pairs, non-empty groups only.
    """
    path = data / "tcga-porpoise-multimodal" / "signatures.csv"
    index = {gene: i for i, gene in enumerate(genes)}
    groups: list[tuple[str, list[int]]] = []
    covered: set[int] = set()
    if path.exists():
        signatures = pd.read_csv(path)
        for column in signatures.columns:
            members = sorted({index[g] for g in signatures[column].dropna() if g in index})
            if members:
                groups.append((str(column), members))
                covered.update(members)
    rest = [i for i in range(len(genes)) if i not in covered]
    if rest:
        groups.append(("Other genes", rest))
    return groups


def hallmark_membership(genes: set[str], data: Path) -> dict[str, list[str]]:
    """MSigDB hallmark gene sets restricted to the given genes.

    Source: ``tcga-survpath-pathways/datasets_csv/pathway_compositions/hallmarks_comps.csv``
    (SurvPath's gene x hallmark matrix, built from MSigDB's 50 hallmark gene sets).

    Args:
        genes: gene symbols the model knows.
        data: the shared data folder.

    Returns:
        hallmark -> member genes present in ``genes`` (hallmarks without any are dropped).
    """
    path = (
        data
        / "tcga-survpath-pathways"
        / "datasets_csv"
        / "pathway_compositions"
        / "hallmarks_comps.csv"
    )
    if not path.exists():
        logger.warning("hallmark compositions not found at %s", path)
        return {}
    comps = pd.read_csv(path, index_col=0)
    result = {}
    for hallmark in comps.columns:
        members = sorted(g for g in comps.index[comps[hallmark] > 0] if g in genes)
        if members:
            result[str(hallmark)] = members
    return result
