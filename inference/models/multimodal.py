"""The multimodal survival model: per-modality tokens -> masked attention fusion -> survival head.

``forward_features`` returns the fused embedding (used for "patients like this one"), and
``forward_head`` turns it (plus optional treatment) into a discrete-time survival curve, in the
timm manner.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from inference.models.batch import ModalityBatch
from inference.models.config import ModelConfig
from inference.models.encoders import (
    ExpressionEncoder,
    ImagingEncoder,
    SlideEncoder,
    TabularEncoder,
)
from inference.models.layers import MaskedSelfAttentionBlock
from inference.schema import MODALITIES

TABULAR_MODALITIES: tuple[str, ...] = ("clinical", "labs", "mutations", "copy_number")


@dataclass(frozen=True)
class SurvivalOutput:
    """Model output for B cases and K time bins.

    Attributes:
        log_hazard: (B, K) log of the continuous hazard rate integrated over each bin.
        survival: (B, K + 1) S(t) at ``time_edges`` (S(0) = 1).
        embedding: (B, D) fused embedding.
        tile_attention: (B, N) attention over tiles, or ``None`` without a slide branch.
    """

    log_hazard: Tensor
    survival: Tensor
    embedding: Tensor
    tile_attention: Tensor | None


class ModalityFusion(nn.Module):
    """Attention over modality tokens with an explicit presence mask and a summary token.

    The summary token is always valid, so a case with no modality at all still yields a finite
    embedding (the population-level prediction) instead of NaN.
    """

    def __init__(self, dim: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.summary = nn.Parameter(torch.zeros(1, 1, dim))
        self.modality_embedding = nn.Parameter(torch.randn(1, len(MODALITIES), dim) * 0.02)
        self.blocks = nn.ModuleList(
            MaskedSelfAttentionBlock(dim, heads, dropout) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: Tensor, present: Tensor) -> Tensor:
        """Fuse tokens.

        Args:
            tokens: (B, M, D) one token per modality (values at absent positions are ignored).
            present: (B, M) bool.

        Returns:
            (B, D) fused embedding.
        """
        batch = tokens.shape[0]
        # Absent tokens are zeroed as well as masked so nothing of them can leak through residuals.
        tokens = (tokens + self.modality_embedding) * present.unsqueeze(-1).to(tokens.dtype)
        summary = self.summary.expand(batch, 1, -1)  # (B, 1, D)
        sequence = torch.cat([summary, tokens], dim=1)  # (B, 1 + M, D)
        valid = torch.cat(
            [torch.ones(batch, 1, dtype=torch.bool, device=present.device), present], dim=1
        )  # (B, 1 + M)
        for block in self.blocks:
            sequence = block(sequence, valid)
        return self.norm(sequence[:, 0])  # (B, D)


class DiscreteTimeSurvivalHead(nn.Module):
    """Embedding (+ treatment) -> per-bin log hazard rates -> S(t) on the fixed grid.

    log h_k(x) = baseline_k + risk(x) + deviation_k(x): a proportional-hazards term plus a small
    time-varying correction, with a complementary log-log link, so S(t) = exp(-sum exp(log h_k)).
    """

    def __init__(self, dim: int, n_bins: int, n_treatments: int, dropout: float) -> None:
        super().__init__()
        self.n_treatments = n_treatments
        in_dim = dim + 2 * n_treatments
        self.baseline = nn.Parameter(torch.full((n_bins,), -3.0))
        self.hidden = nn.Sequential(nn.Linear(in_dim, dim), nn.GELU(), nn.Dropout(dropout))
        self.risk = nn.Linear(dim, 1)
        self.deviation = nn.Linear(dim, n_bins)
        nn.init.zeros_(self.deviation.weight)
        nn.init.zeros_(self.deviation.bias)

    def forward(
        self, embedding: Tensor, treatment: Tensor | None, treatment_known: Tensor | None
    ) -> Tensor:
        """Return (B, K) log hazard rates."""
        parts = [embedding]
        if self.n_treatments:
            batch = embedding.shape[0]
            if treatment is None or treatment_known is None:
                treatment = embedding.new_zeros(batch, self.n_treatments)
                treatment_known = embedding.new_zeros(batch, self.n_treatments)
            known = treatment_known.to(embedding.dtype)
            parts += [treatment.to(embedding.dtype) * known, known]
        hidden = self.hidden(torch.cat(parts, dim=1))  # (B, D)
        return self.baseline + self.risk(hidden) + self.deviation(hidden)  # (B, K)


def survival_from_log_hazard(log_hazard: Tensor) -> Tensor:
    """(B, K) log hazard rates -> (B, K + 1) survival at the bin edges, starting at 1."""
    cumulative = torch.cumsum(torch.exp(log_hazard), dim=1)  # (B, K)
    zeros = cumulative.new_zeros(cumulative.shape[0], 1)
    return torch.exp(-torch.cat([zeros, cumulative], dim=1))  # (B, K + 1)


class MultimodalSurvival(nn.Module):
    """Fuses any subset of modalities into an individual survival curve.

    Args:
        config: architecture and feature vocabulary.
    """

    configured: Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        dim, dropout = config.dim, config.dropout
        self.tabular = nn.ModuleDict()
        for name in TABULAR_MODALITIES:
            spec = getattr(config, name)
            if spec is not None:
                n_types = len(config.cancer_types) if name == "clinical" else 0
                self.tabular[name] = TabularEncoder(spec, dim, dropout, n_cancer_types=n_types)
        self.expression = (
            ExpressionEncoder(config.expression, dim, dropout) if config.expression else None
        )
        self.slide = SlideEncoder(config.slide, dim, dropout) if config.slide else None
        self.imaging = ImagingEncoder(config.imaging, dim, dropout) if config.imaging else None
        self.fusion = ModalityFusion(dim, config.heads, config.fusion_layers, dropout)
        self.head = DiscreteTimeSurvivalHead(dim, config.n_bins, len(config.treatments), dropout)
        self.register_buffer(
            "configured", torch.tensor([self._has(m) for m in MODALITIES]), persistent=False
        )

    def _has(self, modality: str) -> bool:
        if modality in TABULAR_MODALITIES:
            return modality in self.tabular
        return getattr(self, modality) is not None

    def drop_modalities(self, present: Tensor) -> Tensor:
        """Modality dropout: hide each present modality with probability p, keeping at least one.

        Only called in training mode, so it is controlled by module mode like ordinary dropout.

        Args:
            present: (B, M) bool.

        Returns:
            (B, M) bool, a subset of ``present``.
        """
        keep = torch.rand(present.shape, device=present.device) >= self.config.modality_dropout
        dropped = present & keep
        # Rows that lost everything keep one random present modality instead.
        empty = ~dropped.any(dim=1) & present.any(dim=1)
        if empty.any():
            scores = torch.rand(present.shape, device=present.device) * present
            choice = torch.nn.functional.one_hot(scores.argmax(dim=1), present.shape[1]).bool()
            dropped = torch.where(empty.unsqueeze(1), choice, dropped)
        return dropped

    def forward_features(self, batch: ModalityBatch) -> tuple[Tensor, Tensor | None]:
        """Encode present modalities and fuse them.

        Args:
            batch: the inputs.

        Returns:
            The fused embedding (B, D) and the tile attention (B, N) or ``None``.
        """
        present = batch.present & self.configured
        size, dim = batch.size, self.config.dim
        reference = self.fusion.summary
        tokens = [reference.new_zeros(size, dim) for _ in MODALITIES]
        for name, encoder in self.tabular.items():
            inputs = getattr(batch, name)
            if inputs is not None:
                extra = batch.cancer_type if name == "clinical" else None
                tokens[MODALITIES.index(name)] = encoder(inputs, extra)
            else:
                present = present.clone()
                present[:, MODALITIES.index(name)] = False
        tile_attention = None
        optional = {
            "expression": batch.expression is not None and self.expression is not None,
            "slide": batch.tiles is not None and self.slide is not None,
            "imaging": batch.lesions is not None
            and batch.study is not None
            and self.imaging is not None,
        }
        if optional["expression"]:
            assert self.expression is not None and batch.expression is not None
            tokens[MODALITIES.index("expression")] = self.expression(batch.expression)
        if optional["slide"]:
            assert self.slide is not None and batch.tiles is not None
            tokens[MODALITIES.index("slide")], tile_attention = self.slide(batch.tiles)
        if optional["imaging"]:
            assert self.imaging is not None and batch.lesions is not None
            assert batch.study is not None
            tokens[MODALITIES.index("imaging")] = self.imaging(batch.lesions, batch.study)
        for name, available in optional.items():
            if not available:
                present = present.clone()
                present[:, MODALITIES.index(name)] = False
        if self.training and self.config.modality_dropout > 0:
            present = self.drop_modalities(present)
        stacked = torch.stack(tokens, dim=1)  # (B, M, D)
        return self.fusion(stacked, present), tile_attention

    def forward_head(
        self,
        embedding: Tensor,
        treatment: Tensor | None = None,
        treatment_known: Tensor | None = None,
    ) -> Tensor:
        """Fused embedding (+ treatment) -> (B, K) log hazard rates."""
        return self.head(embedding, treatment, treatment_known)

    def forward(self, batch: ModalityBatch) -> SurvivalOutput:
        """Predict survival for a batch.

        Args:
            batch: the inputs with their presence mask.

        Returns:
            Log hazards, S(t) on ``config.time_edges``, the embedding and the tile attention.
        """
        embedding, tile_attention = self.forward_features(batch)
        log_hazard = self.forward_head(embedding, batch.treatment, batch.treatment_known)
        return SurvivalOutput(
            log_hazard=log_hazard,
            survival=survival_from_log_hazard(log_hazard),
            embedding=embedding,
            tile_attention=tile_attention,
        )
