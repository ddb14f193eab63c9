"""The shipped oncology trial subset and corpus-level helpers (serialisation, embeddings).

``data/oncology_trials.jsonl.gz`` holds TrialRecords as JSON lines; its embeddings sit beside it
in ``data/oncology_trials.embeddings.npz``. Both are built by ``python -m
inference.trials.build_subset``.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.trials.records import TrialRecordError
from inference.trials.retrieval import (
    StoredEmbeddings,
    TrialIndex,
    compute_embeddings,
    load_embeddings,
    save_embeddings,
)
from inference.trials.schema import Location, TrialRecord

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
SUBSET_PATH = DATA_DIR / "oncology_trials.jsonl.gz"
SUBSET_EMBEDDINGS_PATH = DATA_DIR / "oncology_trials.embeddings.npz"


def record_to_json(trial: TrialRecord) -> dict[str, Any]:
    """A TrialRecord as a JSON-ready dict, without empty fields."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(trial):
        value = getattr(trial, f.name)
        if f.name == "locations":
            value = [{k: v for k, v in dataclasses.asdict(loc).items() if v} for loc in value]
        elif isinstance(value, tuple):
            value = list(value)
        if value not in ("", None, [], ()):
            out[f.name] = value
    return out


def record_from_json(obj: dict[str, Any], ref: str = "record") -> TrialRecord:
    """Inverse of :func:`record_to_json`.

    Raises:
        TrialRecordError: on a missing id or an unknown field.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("nct_id"), str):
        raise TrialRecordError(ref, "missing nct_id")
    names = {f.name for f in dataclasses.fields(TrialRecord)}
    unknown = set(obj) - names
    if unknown:
        raise TrialRecordError(ref, f"unknown fields {sorted(unknown)}")
    values = dict(obj)
    for key in ("conditions", "interventions", "keywords"):
        values[key] = tuple(values.get(key, ()))
    values["locations"] = tuple(Location(**loc) for loc in values.get("locations", ()))
    return TrialRecord(**values)


def write_records(path: Path, trials: Iterable[TrialRecord]) -> int:
    """Write TrialRecords as gzipped JSON lines (deterministic bytes: no timestamp)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(record_to_json(t), ensure_ascii=False, sort_keys=True) for t in trials]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return len(lines)


def read_records(path: Path) -> tuple[TrialRecord, ...]:
    """Read a file written by :func:`write_records`."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return tuple(
            record_from_json(json.loads(line), f"{path.name}:{n}")
            for n, line in enumerate(handle, start=1)
            if line.strip()
        )


def load_shipped_trials() -> tuple[TrialRecord, ...]:
    """The shipped oncology subset."""
    return read_records(SUBSET_PATH)


def embeddings_for(
    trials: Sequence[TrialRecord],
    cache: Path,
    encode: Callable[[list[str]], np.ndarray],
) -> StoredEmbeddings:
    """Stored embeddings for ``trials``, computing and saving only the missing rows.

    Args:
        trials: the trials that need vectors.
        cache: the npz file to read and extend.
        encode: the text encoder.

    Returns:
        Embeddings covering every trial (and whatever the cache held before).
    """
    stored = load_embeddings(cache) if cache.exists() else StoredEmbeddings((), np.zeros((0, 384)))
    have = set(stored.ids)
    missing = [t for t in trials if t.nct_id not in have]
    if not missing:
        return stored
    logger.info("embedding %d trials (cache %s)", len(missing), cache.name)
    new = compute_embeddings(missing, encode)
    merged = StoredEmbeddings(
        stored.ids + new.ids, np.vstack([stored.matrix, new.matrix]).astype(np.float32)
    )
    save_embeddings(cache, merged)
    return merged


def load_shipped_index(encode: Callable[[list[str]], np.ndarray] | None = None) -> TrialIndex:
    """A TrialIndex over the shipped subset, hybrid when ``encode`` is given.

    Args:
        encode: query encoder, e.g. ``default_embedder().encode``; None for BM25 only.

    Returns:
        The index.
    """
    trials = load_shipped_trials()
    embeddings = load_embeddings(SUBSET_EMBEDDINGS_PATH) if encode is not None else None
    return TrialIndex(trials, embeddings=embeddings, encode=encode)
