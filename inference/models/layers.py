"""Small reusable layers: an MLP block and gated attention pooling."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MLPBlock(nn.Module):
    """Linear -> LayerNorm -> GELU -> Dropout."""

    def __init__(self, in_dim: int, out_dim: int, *, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.norm = nn.LayerNorm(out_dim)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.act(self.norm(self.linear(x))))


class GatedAttentionPool(nn.Module):
    """Gated attention pooling over a set (Ilse et al., 2018), with a padding mask.

    Used twice: over the tiles of a slide (attention MIL) and over the modality tokens of a case.
    The weights come back so the caller can show where the model looked.
    """

    def __init__(self, dim: int, hidden_dim: int, *, dropout: float) -> None:
        super().__init__()
        self.value = nn.Sequential(nn.Linear(dim, hidden_dim), nn.Tanh(), nn.Dropout(dropout))
        self.gate = nn.Sequential(nn.Linear(dim, hidden_dim), nn.Sigmoid(), nn.Dropout(dropout))
        self.score = nn.Linear(hidden_dim, 1)

    def forward(self, items: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        """Pool ``items [B, N, D]`` over N where ``present [B, N]`` is true.

        Returns:
            ``(pooled [B, D], weights [B, N])``; rows with nothing present pool to zeros.
        """
        scores = self.score(self.value(items) * self.gate(items)).squeeze(-1)  # [B, N]
        scores = scores.masked_fill(~present, float("-inf"))
        any_present = present.any(dim=1, keepdim=True)  # [B, 1]
        # A row with nothing present would softmax to NaN; give it uniform scores, then zero it.
        scores = torch.where(any_present, scores, torch.zeros_like(scores))
        weights = torch.softmax(scores, dim=1) * any_present  # [B, N]
        pooled = torch.einsum("bn,bnd->bd", weights, items)  # [B, D]
        return pooled, weights
