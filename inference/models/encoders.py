"""One encoder per modality, each producing a single token of width ``dim``."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from inference.models.batch import SetBatch, TabularBatch
from inference.models.config import ExpressionSpec, ImagingSpec, SlideSpec, TabularSpec
from inference.models.layers import MLP, GatedAttentionPool, GroupedLinear


class TabularEncoder(nn.Module):
    """Standardised values with their missing mask -> token (clinical, labs, mutations, CNV).

    The mask is an input, so "not measured" and "measured at the cohort mean" stay different.
    An optional cancer-type embedding (OncoTree code) is added for the clinical modality.
    """

    def __init__(
        self, spec: TabularSpec, dim: int, dropout: float, *, n_cancer_types: int = 0
    ) -> None:
        super().__init__()
        n_features = len(spec.names)
        self.input_dropout = nn.Dropout(dropout)
        self.mlp = MLP(2 * n_features, 2 * dim, dim, dropout)
        # Index 0 is "unknown cancer type"; codes start at 1.
        self.cancer_type = nn.Embedding(n_cancer_types + 1, dim) if n_cancer_types else None

    def forward(self, batch: TabularBatch, cancer_type: Tensor | None = None) -> Tensor:
        """(B, F) values and mask -> (B, dim)."""
        missing = batch.missing.to(batch.values.dtype)
        features = torch.cat([self.input_dropout(batch.values), missing], dim=1)  # (B, 2F)
        token = self.mlp(features)
        if self.cancer_type is not None and cancer_type is not None:
            token = token + self.cancer_type(cancer_type.clamp(min=-1) + 1)
        return token


class ExpressionEncoder(nn.Module):
    """Expression grouped by pathway: one embedding per pathway, attention-pooled to a token."""

    def __init__(self, spec: ExpressionSpec, dim: int, dropout: float) -> None:
        super().__init__()
        groups = [list(group.members) for group in spec.groups]
        self.group_dim = max(4, dim // 4)
        self.input_dropout = nn.Dropout(dropout)
        self.grouped = GroupedLinear(len(spec.features.names), groups, self.group_dim)
        self.pool = GatedAttentionPool(self.group_dim, dim, dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, batch: TabularBatch) -> Tensor:
        """(B, F) -> (B, dim)."""
        values = self.input_dropout(batch.values)
        pathways = torch.nn.functional.gelu(self.grouped(values))  # (B, G, group_dim)
        mask = torch.ones(pathways.shape[:2], dtype=torch.bool, device=values.device)  # (B, G)
        pooled, _ = self.pool(pathways, mask)
        return self.norm(pooled)


class SlideEncoder(nn.Module):
    """Gated attention-MIL over tile features; the per-tile attention is returned for heatmaps."""

    def __init__(self, spec: SlideSpec, dim: int, dropout: float) -> None:
        super().__init__()
        self.pool = GatedAttentionPool(spec.feature_dim, dim, dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tiles: SetBatch) -> tuple[Tensor, Tensor]:
        """(B, N, F) tiles -> token (B, dim) and attention (B, N)."""
        pooled, attention = self.pool(tiles.items, tiles.mask)
        return self.norm(pooled), attention


class ImagingEncoder(nn.Module):
    """Lesion measurements pooled by gated attention, combined with study-level measurements."""

    def __init__(self, spec: ImagingSpec, dim: int, dropout: float) -> None:
        super().__init__()
        self.lesion_pool = GatedAttentionPool(len(spec.lesion.names), dim, dropout)
        self.study = MLP(2 * len(spec.study.names), dim, dim, dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, lesions: SetBatch, study: TabularBatch) -> Tensor:
        """Lesions (B, L, F_l) and study (B, F_s) -> (B, dim)."""
        pooled, _ = self.lesion_pool(lesions.items, lesions.mask)  # (B, dim)
        missing = study.missing.to(study.values.dtype)
        study_token = self.study(torch.cat([study.values, missing], dim=1))  # (B, dim)
        return self.norm(pooled + study_token)
