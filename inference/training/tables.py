"""A survival table read from a path (a site export or an external cohort) as a :class:`Cohort`.

Schema (CSV, one row per patient):

- ``time_months`` (follow-up, >= 0) and ``event`` (1 = event, 0 = censored): required.
- ``<modality>.<feature>`` columns (``clinical.age``, ``expression.MKI67``, ``labs.sodium``,
  ``treatment.chemotherapy``), NaN or empty = not measured (masked, never filled).
- Bare column names that are not reserved are clinical features (the site training table's
  portrait vocabulary: ``age_years``, ``stage_group`` ...).
- Optional: ``case_id`` (else the row number), ``cancer_type`` (OncoTree code), ``split``
  (``train`` / ``test``; without it every row is a test row when a checkpoint is scored, and a
  seeded 80/20 split otherwise), ``diagnosis_day`` (days from the table's first diagnosis).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from inference.training.cohorts import Cohort, Split

MODALITY_PREFIXES = ("clinical", "labs", "mutations", "copy_number", "expression", "treatment")
RESERVED = frozenset(
    {"time_months", "event", "case_id", "cancer_type", "split", "diagnosis_day", "pseudo_id",
     "cohort", "source_row"}
)  # fmt: skip


@dataclass(frozen=True)
class SurvivalTable:
    """A checked table and where it came from."""

    path: Path
    frame: pd.DataFrame


def load_table(path: Path) -> SurvivalTable:
    """Read and check a survival table.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a required column is missing or a value is out of range (the message says
            which).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file")
    frame = pd.read_csv(path, low_memory=False)
    missing = [c for c in ("time_months", "event") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
    times = pd.to_numeric(frame["time_months"], errors="coerce")
    events = pd.to_numeric(frame["event"], errors="coerce")
    bad = frame.index[~(times >= 0) | ~events.isin([0, 1])]
    if len(bad):
        raise ValueError(
            f"{path.name}: row {int(bad[0]) + 2} needs time_months >= 0 and event 0 or 1 "
            f"({len(bad)} such rows)"
        )
    frame["time_months"], frame["event"] = times.astype(float), events.astype(float)
    return SurvivalTable(path=path, frame=frame)


def _feature_columns(frame: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """modality -> [(column, feature name)]."""
    out: dict[str, list[tuple[str, str]]] = {}
    for column in frame.columns:
        if column in RESERVED:
            continue
        prefix, dot, name = str(column).partition(".")
        if dot and prefix in MODALITY_PREFIXES:
            out.setdefault(prefix, []).append((column, name))
        else:
            out.setdefault("clinical", []).append((column, str(column)))
    return out


def cohort_from_table(path: Path, *, name: str | None = None, seed: int = 0) -> Cohort:
    """The table as a cohort with one split (``table``).

    Args:
        path: the CSV.
        name: cohort name (default: the file's stem).
        seed: seed of the 80/20 split when the table has no ``split`` column.
    """
    table = load_table(path)
    frame = table.frame
    n = len(frame)
    tabular, names = {}, {}
    treatment: np.ndarray | None = None
    treatments: tuple[str, ...] = ()
    for modality, columns in _feature_columns(frame).items():
        values = (
            frame[[c for c, _ in columns]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        )
        if modality == "treatment":
            treatment, treatments = values, tuple(n for _, n in columns)
            continue
        tabular[modality] = values
        names[modality] = tuple(n for _, n in columns)
    if "split" in frame.columns:
        kind = frame["split"].astype(str).str.strip().str.lower()
        train, test = np.nonzero(kind == "train")[0], np.nonzero(kind != "train")[0]
    else:
        order = np.random.default_rng(seed).permutation(n)
        cut = int(round(0.8 * n))
        train, test = np.sort(order[:cut]), np.sort(order[cut:])
    ids = (
        frame["case_id"].astype(str).to_numpy() if "case_id" in frame else np.arange(n).astype(str)
    )
    times = frame["time_months"].to_numpy(float)
    horizon = float(np.quantile(times, 0.9))
    step = 3.0 if horizon <= 72 else 6.0
    return Cohort(
        name=name or path.stem,
        ids=ids,
        times=times,
        events=frame["event"].to_numpy(float),
        tabular=tabular,
        names=names,
        splits=[Split("table", train.astype(np.int64), test.astype(np.int64))],
        time_edges=tuple(float(x) for x in np.arange(0.0, horizon + step, step)),
        outcome=f"as recorded in {path.name}",
        source=f"table {path.name} (supplied by path)",
        cancer_types=(
            frame["cancer_type"].fillna("").astype(str).to_numpy()
            if "cancer_type" in frame
            else None
        ),
        treatment=treatment,
        treatments=treatments,
    )
