"""Fusion of modality tokens for cases that have any subset of modalities."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from inference.models.layers import GatedAttentionPool


class ModalityDropout(nn.Module):
    """In training mode, hide each present modality with probability ``p`` (at least one stays).

    Teaches the fused model to predict from whatever subset a real case brings. In eval mode it
    is the identity, like ``nn.Dropout``.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError("modality dropout must lie in [0, 1)")
        self.p = p

    def forward(self, present: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return present
        kept = present & (torch.rand(present.shape, device=present.device) >= self.p)
        # A case left with nothing keeps one of its modalities, chosen at random.
        empty = ~kept.any(dim=1) & present.any(dim=1)  # [B]
        if empty.any():
            noise = torch.rand(present.shape, device=present.device).masked_fill(~present, -1.0)
            one = torch.zeros_like(present).scatter_(1, noise.argmax(dim=1, keepdim=True), True)
            kept = torch.where(empty[:, None], one, kept)
        return kept


class ModalityFusion(nn.Module):
    """Gated attention over the tokens of the modalities a case has.

    Each token gets a learned modality embedding (so the pooling knows which modality it is
    looking at), then absent modalities are masked out of the attention. The attention weights
    are returned as a first, coarse view of which modality drove the prediction.
    """

    def __init__(
        self, n_modalities: int, embed_dim: int, *, dropout: float, modality_dropout: float
    ) -> None:
        super().__init__()
        self.modality_embedding = nn.Parameter(torch.zeros(n_modalities, embed_dim))
        nn.init.trunc_normal_(self.modality_embedding, std=0.02)
        self.norm = nn.LayerNorm(embed_dim)
        self.drop_modalities = ModalityDropout(modality_dropout)
        self.pool = GatedAttentionPool(embed_dim, embed_dim, dropout=dropout)

    def forward(self, tokens: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        """``tokens [B, M, E]``, ``present [B, M]`` -> ``(fused [B, E], weights [B, M])``."""
        present = self.drop_modalities(present)
        tokens = self.norm(tokens + self.modality_embedding)  # [B, M, E]
        return self.pool(tokens, present)
