"""The process-wide trial index, built once per corpus version.

Building it reads every trial row, indexes BM25 (about a second for the shipped 3,617 trials)
and loads the stored vectors; a job or request that finds the corpus version unchanged reuses
it. A new successful import moves the version, and the next user rebuilds it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from inference.trials.criteria import with_record_criteria
from inference.trials.matching import CriteriaCache
from inference.trials.retrieval import StoredEmbeddings, TrialIndex
from oncology_ui.trials.imports import corpus_version, default_encoder
from oncology_ui.trials.models import Trial
from oncology_ui.trials.serialize import criterion_from_json, row_to_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedIndex:
    version: int
    index: TrialIndex
    cache: CriteriaCache
    mode: str  # "hybrid" or "bm25"
    vectors: int
    size: int

    @property
    def description(self) -> str:
        if self.mode == "hybrid":
            return f"hybrid (BM25 + MiniLM; {self.vectors} of {self.size} trials have vectors)"
        return "BM25 only (no sentence encoder or no stored vectors)"


_lock = threading.Lock()
_loaded: dict[str, LoadedIndex] = {}


def _build(version: int) -> LoadedIndex:
    rows = list(Trial.objects.order_by("nct_id"))
    records = [row_to_record(row) for row in rows]
    cache = CriteriaCache()
    for row, record in zip(rows, records, strict=True):
        if row.criteria:
            # Reuse the criteria parsed at import instead of parsing again per process; those
            # from the record are derived afresh, so they follow the current engine.
            stored = tuple(criterion_from_json(c) for c in row.criteria)
            cache._cache[record.nct_id] = with_record_criteria(record, stored)
    with_vectors = [(row.nct_id, bytes(row.embedding)) for row in rows if row.embedding]
    mode = getattr(settings, "TRIALS_RETRIEVAL_MODE", "hybrid")
    encode = default_encoder() if mode == "hybrid" and with_vectors else None
    embeddings = None
    if encode is not None:
        matrix = np.stack([np.frombuffer(v, dtype=np.float16) for _, v in with_vectors])
        embeddings = StoredEmbeddings(
            tuple(nct for nct, _ in with_vectors), matrix.astype(np.float32)
        )
    index = TrialIndex(records, embeddings=embeddings, encode=encode, allow_missing=True)
    logger.info("trial index built: version %s, %d trials", version, len(records))
    return LoadedIndex(
        version=version,
        index=index,
        cache=cache,
        mode="hybrid" if encode is not None else "bm25",
        vectors=len(with_vectors) if encode is not None else 0,
        size=len(records),
    )


def trial_index() -> LoadedIndex | None:
    """The index of the current corpus, or None when no corpus has been imported."""
    version = corpus_version()
    if version is None:
        return None
    with _lock:
        loaded = _loaded.get("current")
        if loaded is None or loaded.version != version:
            loaded = _build(version)
            _loaded["current"] = loaded
        return loaded


def trial_index_reset() -> None:
    """Forget the cached index (tests that replace the corpus inside one process)."""
    with _lock:
        _loaded.clear()
