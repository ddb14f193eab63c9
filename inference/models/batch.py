"""The tensor form of a batch of cases: one field per modality plus an explicit presence mask."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Self

import torch
from torch import Tensor

from inference.schema import MODALITIES


class _CaseRows:
    """Moving and row selection for the batch dataclasses below.

    Every field is a tensor whose first dimension is the case, a nested batch, or None (an absent
    modality).
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to(self, device: torch.device) -> Self:
        """Move every tensor to ``device``."""
        moved = {item.name: getattr(self, item.name) for item in fields(self)}
        return replace(self, **{k: v if v is None else v.to(device) for k, v in moved.items()})

    def index(self, rows: Tensor) -> Self:
        """Select rows (cases)."""
        selected: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None:
                selected[item.name] = None
            elif isinstance(value, Tensor):
                selected[item.name] = value[rows]
            else:
                selected[item.name] = value.index(rows)
        return replace(self, **selected)


@dataclass(frozen=True)
class TabularBatch(_CaseRows):
    """Standardised values (missing entries set to 0) and their missing mask, both (B, F)."""

    values: Tensor
    missing: Tensor


@dataclass(frozen=True)
class SetBatch(_CaseRows):
    """A padded set of vectors per case: items (B, N, F) and a validity mask (B, N)."""

    items: Tensor
    mask: Tensor


@dataclass(frozen=True)
class ModalityBatch(_CaseRows):
    """Model input for B cases.

    Attributes:
        present: (B, M) bool, M = ``len(MODALITIES)``; a modality's tensors are ignored where False.
        clinical, labs, mutations, copy_number, expression: tabular modalities.
        cancer_type: (B,) long index into ``ModelConfig.cancer_types``; -1 = unknown.
        tiles: slide tile features (B, N_tiles, F_slide); multiple slides are concatenated.
        lesions: imaging lesion measurements (B, N_lesions, F_lesion).
        study: imaging study-level measurements.
        treatment: (B, T) values 0/1 and ``treatment_known`` (B, T) bool.
    """

    present: Tensor
    clinical: TabularBatch | None = None
    cancer_type: Tensor | None = None
    labs: TabularBatch | None = None
    mutations: TabularBatch | None = None
    copy_number: TabularBatch | None = None
    expression: TabularBatch | None = None
    tiles: SetBatch | None = None
    lesions: SetBatch | None = None
    study: TabularBatch | None = None
    treatment: Tensor | None = None
    treatment_known: Tensor | None = None

    @property
    def size(self) -> int:
        """Number of cases."""
        return int(self.present.shape[0])

    def with_present(self, present: Tensor) -> ModalityBatch:
        """Same inputs with another presence mask (used by ablations and Shapley subsets)."""
        return replace(self, present=present)

    def repeat(self, times: int) -> ModalityBatch:
        """Stack ``times`` copies of a batch (rows grouped per copy)."""
        rows = torch.arange(self.size).repeat(times)
        return self.index(rows)


def modality_index(name: str) -> int:
    """Position of a modality in the presence mask.

    Args:
        name: one of :data:`inference.schema.MODALITIES`.

    Returns:
        Its column in ``ModalityBatch.present``.
    """
    return MODALITIES.index(name)
