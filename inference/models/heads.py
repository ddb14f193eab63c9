"""Output heads."""

from __future__ import annotations

from torch import Tensor, nn

from inference.models.layers import MLPBlock


class HazardHead(nn.Module):
    """Fused representation -> one hazard logit per time bin (logistic-hazard model)."""

    def __init__(self, embed_dim: int, hidden_dim: int, n_bins: int, *, dropout: float) -> None:
        super().__init__()
        self.hidden = MLPBlock(embed_dim, hidden_dim, dropout=dropout)
        self.logits = nn.Linear(hidden_dim, n_bins)

    def forward(self, fused: Tensor) -> Tensor:
        """``fused [B, E]`` -> ``logits [B, K]``."""
        return self.logits(self.hidden(fused))
