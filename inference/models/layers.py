"""Building blocks: MLP, gated attention-MIL pooling, pathway-grouped linear, masked attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MLP(nn.Module):
    """Linear -> GELU -> Dropout -> Linear with a LayerNorm on the output."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, out_dim),
        )
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_dim) -> (B, out_dim)."""
        return self.norm(self.net(x))


class GatedAttentionPool(nn.Module):
    """Gated attention-MIL pooling (Ilse et al. 2018) over a padded set.

    Returns the pooled vector and the attention weights so the caller can keep them (tile heatmaps).
    """

    def __init__(self, in_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.value = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout))
        self.attention_v = nn.Linear(hidden, hidden)
        self.attention_u = nn.Linear(hidden, hidden)
        self.attention_w = nn.Linear(hidden, 1)

    def forward(self, items: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Pool a set.

        Args:
            items: (B, N, in_dim).
            mask: (B, N) bool, True for real items.

        Returns:
            pooled (B, hidden) and attention (B, N), zero on padding; an empty set pools to zeros.
        """
        hidden = self.value(items)  # (B, N, H)
        gate = torch.tanh(self.attention_v(hidden)) * torch.sigmoid(self.attention_u(hidden))
        logits = self.attention_w(gate).squeeze(-1)  # (B, N)
        logits = logits.masked_fill(~mask, float("-inf"))
        any_item = mask.any(dim=1, keepdim=True)  # (B, 1)
        # A case without items would give softmax over all -inf = NaN; give it zero weights instead.
        logits = torch.where(any_item, logits, torch.zeros_like(logits))
        attention = torch.softmax(logits, dim=1) * mask.to(hidden.dtype)  # (B, N)
        pooled = torch.einsum("bn,bnh->bh", attention, hidden)  # (B, H)
        return pooled, attention


class GroupedLinear(nn.Module):
    """Per-group linear maps from member features to a group embedding, in one masked matmul.

    Group g sees only its member features; this is how expression is grouped by pathway.
    """

    membership: Tensor
    scale: Tensor

    def __init__(self, in_dim: int, groups: list[list[int]], group_dim: int) -> None:
        super().__init__()
        self.n_groups = len(groups)
        self.group_dim = group_dim
        membership = torch.zeros(in_dim, self.n_groups * group_dim)
        for g, members in enumerate(groups):
            membership[members, g * group_dim : (g + 1) * group_dim] = 1.0
        self.register_buffer("membership", membership, persistent=False)
        self.weight = nn.Parameter(torch.randn(in_dim, self.n_groups * group_dim) * 0.1)
        self.bias = nn.Parameter(torch.zeros(self.n_groups * group_dim))
        sizes = torch.tensor([max(len(m), 1) for m in groups], dtype=torch.float32)
        # Scale by 1/sqrt(group size) so large pathways do not dominate at initialisation.
        self.register_buffer("scale", sizes.rsqrt().repeat_interleave(group_dim), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_dim) -> (B, n_groups, group_dim)."""
        out = (x @ (self.weight * self.membership)) * self.scale + self.bias  # (B, G*D)
        return out.view(x.shape[0], self.n_groups, self.group_dim)  # (B, G, D)


class MaskedSelfAttentionBlock(nn.Module):
    """Pre-norm transformer block whose attention ignores masked tokens."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """Attend among valid tokens.

        Args:
            tokens: (B, T, D).
            mask: (B, T) bool, True for tokens that may be attended to; at least one per row.

        Returns:
            (B, T, D).
        """
        batch, length, dim = tokens.shape
        qkv = self.qkv(self.norm1(tokens))  # (B, T, 3D)
        qkv = qkv.view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]  # each (B, heads, T, D/heads)
        attn_mask = mask[:, None, None, :]  # (B, 1, 1, T) broadcast over heads and queries
        attended = F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask)
        attended = attended.transpose(1, 2).reshape(batch, length, dim)  # (B, T, D)
        tokens = tokens + self.dropout(self.proj(attended))
        return tokens + self.dropout(self.mlp(self.norm2(tokens)))
