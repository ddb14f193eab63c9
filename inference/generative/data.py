"""The PORPOISE TCGA multi-omics tables as one matrix per modality, with the published folds.

Source: ``../shared/data/tcga-porpoise-multimodal`` (12 cohorts; GPL-3.0, non-commercial academic
use; see its SOURCE.md). A table row is a diagnostic slide, so rows are deduplicated by case id
(first row kept: the molecular columns are per case). Each cohort selected its own genes, so the
feature space is the union across cohorts with NaN where a cohort does not carry a gene
("not profiled", never "wild type"). RNA values are the cohort's z-scores, clipped to [-10, 10].
CNV values are the discrete GISTIC calls (-2..2) the tables hold. The ``val`` column of a
published split file is the held-out fold (the TEST set of the benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODALITIES: tuple[str, ...] = ("clinical", "mutation", "cnv", "rna")
MOLECULAR: tuple[str, ...] = ("mutation", "cnv", "rna")
CLINICAL_FEATURES: tuple[str, ...] = ("age", "is_female")
COHORTS: tuple[str, ...] = (
    "blca", "brca", "coadread", "gbmlgg", "hnsc", "kirc",
    "kirp", "lihc", "luad", "lusc", "stad", "ucec",
)  # fmt: skip
FOLDER = "tcga-porpoise-multimodal"
RNA_CLIP = 10.0
_SUFFIX = {"mutation": "_mut", "cnv": "_cnv", "rna": "_rnaseq"}

#: OncoTree codes each cohort's model covers: the codes the cohort's own table holds plus its
#: umbrella codes (the same cohort levels as ``inference.portrait.routing``). GBMLGG covers the
#: glioblastoma and lower-grade glioma codes; KIRC/KIRP are OncoTree CCRCC/PRCC.
COHORT_ONCOTREE: dict[str, tuple[str, ...]] = {
    "blca": ("BLCA",),
    "brca": ("BRCA", "IDC", "ILC", "MDLC", "IMMC", "MBC", "BRCNOS", "BRCANOS", "ACBC"),
    "coadread": ("COADREAD", "COAD", "READ", "MACR"),
    "gbmlgg": ("GBM", "LGG", "ASTR", "AASTR", "OAST", "AOAST", "ODG", "AODG", "DIFG"),
    "hnsc": ("HNSC", "OCSC", "LXSC", "HPHSC", "HNSCUP", "SNSC"),
    "kirc": ("CCRCC", "KIRC"),
    "kirp": ("PRCC", "KIRP"),
    "lihc": ("HCC", "LIHC", "FLC", "HCCIHCH"),
    "luad": ("LUAD",),
    "lusc": ("LUSC",),
    "stad": ("STAD", "DSTAD", "TSTAD", "MSTAD", "SSRCC", "PSTAD"),
    "ucec": ("UCEC", "UEC", "USC", "UCCC", "UMEC", "UEMC"),
}
ONCOTREE_COHORT: dict[str, str] = {
    code: cohort for cohort, codes in COHORT_ONCOTREE.items() for code in codes
}


@dataclass(frozen=True)
class MultiOmicsTable:
    """One row per TCGA case, one matrix per modality on the union feature space.

    Attributes:
        case_ids: (n,) TCGA case ids.
        cancer_type: (n,) cohort key per row (``"brca"``).
        oncotree_code: (n,) the row's OncoTree code as the table gives it.
        clinical: (n, 2) age in years, is_female (0/1); names in ``clinical_names``.
        mutation: (n, Gm) 0/1, NaN where the cohort does not carry the gene.
        cnv: (n, Gc) GISTIC calls, NaN where not carried.
        rna: (n, Gr) z-scores clipped to [-10, 10], NaN where not carried (UCEC has none).
        survival_months, event: overall survival; event 1 = death (``1 - censorship``).
    """

    case_ids: tuple[str, ...]
    cancer_type: npt.NDArray[np.str_]
    oncotree_code: npt.NDArray[np.str_]
    clinical: FloatArray
    mutation: FloatArray
    cnv: FloatArray
    rna: FloatArray
    survival_months: FloatArray
    event: FloatArray
    clinical_names: tuple[str, ...]
    mutation_names: tuple[str, ...]
    cnv_names: tuple[str, ...]
    rna_names: tuple[str, ...]

    def modality(self, name: str) -> FloatArray:
        """The matrix of one modality (``clinical``, ``mutation``, ``cnv``, ``rna``)."""
        if name not in MODALITIES:
            raise KeyError(f"unknown modality {name!r}; known: {', '.join(MODALITIES)}")
        matrix: FloatArray = getattr(self, name)
        return matrix

    def names(self, name: str) -> tuple[str, ...]:
        """Feature names of one modality."""
        self.modality(name)
        names: tuple[str, ...] = getattr(self, f"{name}_names")
        return names

    def __len__(self) -> int:
        return len(self.case_ids)


def _read_cohort(data_dir: Path, cohort: str) -> pd.DataFrame:
    path = data_dir / FOLDER / "datasets_csv_mutsig" / f"tcga_{cohort}_all_clean.csv.zip"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; pass the shared data folder (../shared/data) that holds {FOLDER}"
        )
    frame = pd.read_csv(path, low_memory=False)
    return frame.drop_duplicates("case_id", keep="first").reset_index(drop=True)


def _union(frames: Sequence[pd.DataFrame], suffix: str) -> tuple[str, ...]:
    genes: set[str] = set()
    for frame in frames:
        genes.update(c[: -len(suffix)] for c in frame.columns if c.endswith(suffix))
    return tuple(sorted(genes))


def _matrix(frame: pd.DataFrame, genes: tuple[str, ...], suffix: str) -> FloatArray:
    out = np.full((len(frame), len(genes)), np.nan)
    present = [(j, f"{g}{suffix}") for j, g in enumerate(genes) if f"{g}{suffix}" in frame.columns]
    if present:
        cols, names = zip(*present, strict=True)
        values = frame[list(names)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        out[:, list(cols)] = values
    return out


def load_cohorts(data_dir: Path, cohorts: Sequence[str] | None = None) -> MultiOmicsTable:
    """Load the PORPOISE cohorts into one table on the union feature space.

    Args:
        data_dir: the shared data folder (holding ``tcga-porpoise-multimodal``).
        cohorts: cohort keys (default: all 12).

    Returns:
        The table, rows in cohort order then file order.
    """
    keys = tuple(cohorts) if cohorts is not None else COHORTS
    unknown = [k for k in keys if k not in COHORTS]
    if unknown:
        raise ValueError(f"unknown cohorts {unknown}; known: {', '.join(COHORTS)}")
    frames = [_read_cohort(Path(data_dir), k) for k in keys]
    names = {m: _union(frames, s) for m, s in _SUFFIX.items()}
    blocks: dict[str, list[FloatArray]] = {m: [] for m in MODALITIES}
    for frame in frames:
        age = pd.to_numeric(frame["age"], errors="coerce").to_numpy(np.float64)
        female = pd.to_numeric(frame["is_female"], errors="coerce").to_numpy(np.float64)
        blocks["clinical"].append(np.column_stack([age, female]))
        for modality, suffix in _SUFFIX.items():
            blocks[modality].append(_matrix(frame, names[modality], suffix))
    stacked = {m: np.vstack(b) for m, b in blocks.items()}
    stacked["rna"] = np.clip(stacked["rna"], -RNA_CLIP, RNA_CLIP)
    all_rows = pd.concat(frames, ignore_index=True)
    return MultiOmicsTable(
        case_ids=tuple(str(c) for c in all_rows["case_id"]),
        cancer_type=np.concatenate([np.full(len(f), k) for f, k in zip(frames, keys, strict=True)]),
        oncotree_code=all_rows["oncotree_code"].fillna("").astype(str).to_numpy(),
        clinical=stacked["clinical"],
        mutation=stacked["mutation"],
        cnv=stacked["cnv"],
        rna=stacked["rna"],
        survival_months=pd.to_numeric(all_rows["survival_months"], errors="coerce").to_numpy(
            np.float64
        ),
        event=1.0 - pd.to_numeric(all_rows["censorship"], errors="coerce").to_numpy(np.float64),
        clinical_names=CLINICAL_FEATURES,
        mutation_names=names["mutation"],
        cnv_names=names["cnv"],
        rna_names=names["rna"],
    )


def fold_split(
    table: MultiOmicsTable, cohort: str, fold: int, *, data_dir: Path | None = None
) -> tuple[IntArray, IntArray]:
    """Row indices of one cohort's published split (train, held-out test).

    Args:
        table: from :func:`load_cohorts` (must hold the cohort).
        cohort: cohort key.
        fold: 0..4.
        data_dir: the shared data folder; default: the one the repository expects
            (``../shared/data``).

    Returns:
        (train_idx, test_idx) into the table's rows; split ids not in the table are skipped.
    """
    if fold not in range(5):
        raise ValueError(f"fold must be 0..4, got {fold}")
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    path = base / FOLDER / "splits" / "5foldcv" / f"tcga_{cohort}" / f"splits_{fold}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    split = pd.read_csv(path)
    rows = np.nonzero(table.cancer_type == cohort)[0]
    if len(rows) == 0:
        raise ValueError(f"the table holds no {cohort} rows")
    position = {table.case_ids[i]: int(i) for i in rows}

    def pick(column: str) -> IntArray:
        ids = split[column].dropna().astype(str)
        return np.array(sorted(position[c] for c in ids if c in position), dtype=np.int64)

    return pick("train"), pick("val")


def folds_split(
    table: MultiOmicsTable, fold: int, *, data_dir: Path | None = None
) -> tuple[IntArray, IntArray]:
    """The published split of every cohort in the table, concatenated (train, test)."""
    parts = [
        fold_split(table, str(c), fold, data_dir=data_dir)
        for c in dict.fromkeys(table.cancer_type.tolist())
    ]
    return (
        np.concatenate([p[0] for p in parts]).astype(np.int64),
        np.concatenate([p[1] for p in parts]).astype(np.int64),
    )


def inner_split(
    train_idx: IntArray, cancer_type: npt.NDArray[np.str_], *, fraction: float, seed: int
) -> tuple[IntArray, IntArray]:
    """Carve an inner validation part out of a training part, stratified by cancer type.

    Used for early stopping and for calibrating the interval scale, so that the held-out fold
    is never looked at before the benchmark.
    """
    rng = np.random.default_rng(seed)
    fit: list[int] = []
    val: list[int] = []
    for cohort in dict.fromkeys(cancer_type[train_idx].tolist()):
        rows = train_idx[cancer_type[train_idx] == cohort]
        rows = rows[rng.permutation(len(rows))]
        n_val = int(round(fraction * len(rows)))
        val.extend(rows[:n_val].tolist())
        fit.extend(rows[n_val:].tolist())
    return np.array(sorted(fit), dtype=np.int64), np.array(sorted(val), dtype=np.int64)


def default_data_dir() -> Path:
    """``../shared/data`` seen from the repository root."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"
