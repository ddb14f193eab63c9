"""Nearest training patients in the fused embedding, summarised by their Kaplan-Meier curve.

Observational only: those patients share this patient's profile in the model's eyes, nothing more.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inference.schema import SimilarPatients
from inference.survival.kaplan_meier import kaplan_meier


def similar_patients(
    embedding: npt.NDArray[np.float64],
    bank: npt.NDArray[np.float64],
    times: npt.NDArray[np.float64],
    events: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64],
    k: int = 50,
) -> SimilarPatients:
    """Kaplan-Meier of the k nearest (cosine) training patients, read on the model grid.

    Args:
        embedding: (D,) this case.
        bank: (N, D) training embeddings.
        times, events: (N,) their outcomes in months.
        grid: (G,) grid times for the returned curve.
        k: neighbours.

    Returns:
        The similar-patients summary.
    """
    unit = bank / np.linalg.norm(bank, axis=1, keepdims=True).clip(1e-9)
    query = embedding / max(float(np.linalg.norm(embedding)), 1e-9)
    nearest = np.argsort(-(unit @ query))[: min(k, len(bank))]
    curve = kaplan_meier(times[nearest], events[nearest])
    follow_up = float(times[nearest].max())
    shown = grid[grid <= follow_up]
    return SimilarPatients(
        count=len(nearest),
        times_months=tuple(float(t) for t in shown),
        survival=tuple(float(s) for s in curve(shown)),
        events=int(events[nearest].sum()),
    )
