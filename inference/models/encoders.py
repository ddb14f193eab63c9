"""Per-modality encoders: each turns one modality of a case into one token of ``embed_dim``."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from inference.models.layers import GatedAttentionPool, MLPBlock

# Standardised inputs are clipped here: expression tables carry z-scores in the thousands.
_INPUT_CLIP = 5.0


class TabularEncoder(nn.Module):
    """Named numeric features -> token.

    Inputs arrive raw with NaN for missing values. The encoder standardises them with statistics
    fixed at training time (buffers, so they travel in the checkpoint), fills missing values with
    the training mean (0 after standardising) and, when ``missing_indicators`` is set, appends one
    0/1 column per feature so the network can tell "average" from "not measured".
    """

    def __init__(
        self,
        n_features: int,
        *,
        hidden_dim: int,
        embed_dim: int,
        n_layers: int,
        dropout: float,
        missing_indicators: bool,
    ) -> None:
        super().__init__()
        self.missing_indicators = missing_indicators
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        in_dim = n_features * 2 if missing_indicators else n_features
        blocks = [MLPBlock(in_dim, hidden_dim, dropout=dropout)]
        blocks += [MLPBlock(hidden_dim, hidden_dim, dropout=dropout) for _ in range(n_layers - 1)]
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(hidden_dim, embed_dim)

    @torch.no_grad()
    def set_normalization(self, mean: Tensor, scale: Tensor) -> None:
        """Fix the standardisation statistics (from the training rows)."""
        self.mean.copy_(mean)
        self.scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))

    def forward(self, values: Tensor) -> Tensor:
        """``values [B, F]`` (NaN = missing) -> ``[B, embed_dim]``."""
        missing = torch.isnan(values)
        standardized = ((values - self.mean) / self.scale).nan_to_num(0.0)
        standardized = standardized.clamp(-_INPUT_CLIP, _INPUT_CLIP)
        if self.missing_indicators:
            standardized = torch.cat([standardized, missing.to(values.dtype)], dim=1)  # [B, 2F]
        return self.out(self.blocks(standardized))


class SlideEncoder(nn.Module):
    """Tile embeddings of a slide -> token, by gated attention MIL (one bag per case)."""

    def __init__(self, feature_dim: int, *, hidden_dim: int, embed_dim: int, dropout: float) -> None:
        super().__init__()
        self.project = MLPBlock(feature_dim, hidden_dim, dropout=dropout)
        self.pool = GatedAttentionPool(hidden_dim, hidden_dim, dropout=dropout)
        self.out = nn.Linear(hidden_dim, embed_dim)

    def forward(self, tiles: Tensor, tile_present: Tensor) -> tuple[Tensor, Tensor]:
        """``tiles [B, N, D]``, ``tile_present [B, N]`` -> ``(token [B, E], weights [B, N])``."""
        projected = self.project(tiles)  # [B, N, H]
        pooled, weights = self.pool(projected, tile_present)  # [B, H], [B, N]
        return self.out(pooled), weights
