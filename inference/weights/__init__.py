"""Shipped checkpoints with their pinned sha256 digests and model cards.

A checkpoint is only ever loaded through :func:`inference.runtime.load_checkpoint`, which refuses a
file whose digest differs from the pin below. Retraining changes the file, so the pin is updated in
the same commit as the checkpoint (``python -m inference.training.train`` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ShippedCheckpoint:
    """One shipped checkpoint."""

    name: str
    filename: str
    sha256: str
    card: str

    @property
    def path(self) -> Path:
        """Absolute path of the checkpoint file."""
        return WEIGHTS_DIR / self.filename


SHIPPED: dict[str, ShippedCheckpoint] = {}

DEFAULT_MODEL = "oncoboard-tcga-pancancer"
