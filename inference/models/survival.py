"""The multimodal survival model: per-modality encoders -> masked fusion -> discrete hazards.

A case may bring any subset of modalities. Tabular modalities (clinical, labs, mutation, copy
number, expression, imaging features) each have a :class:`TabularEncoder`; whole-slide tile
features have a :class:`SlideEncoder`. Missing modalities are masked out of the fusion, never
filled with zeros that the model could mistake for a measurement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from inference.models.encoders import SlideEncoder, TabularEncoder
from inference.models.fusion import ModalityFusion
from inference.models.heads import HazardHead

SLIDE = "slide"


@dataclass(frozen=True)
class TabularBranchConfig:
    """One tabular modality: its name and how many named features it takes."""

    modality: str
    n_features: int
    missing_indicators: bool = True


@dataclass(frozen=True)
class SurvivalModelConfig:
    """Everything needed to rebuild the network; stored in every checkpoint."""

    tabular: tuple[TabularBranchConfig, ...]
    slide_feature_dim: int | None = None
    n_time_bins: int = 10
    hidden_dim: int = 128
    embed_dim: int = 64
    n_layers: int = 1
    dropout: float = 0.2
    modality_dropout: float = 0.0

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modality names in token order."""
        names = tuple(branch.modality for branch in self.tabular)
        return names + ((SLIDE,) if self.slide_feature_dim is not None else ())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SurvivalModelConfig:
        values = dict(data)
        values["tabular"] = tuple(TabularBranchConfig(**branch) for branch in values["tabular"])
        return cls(**values)


@dataclass
class SurvivalBatch:
    """Model input for B cases (tensors; stays inside ``inference/``).

    Attributes:
        tabular: modality -> raw values ``[B, F]``, NaN where a feature is missing.
        present: modality -> ``[B]`` bool, whether the case has that modality at all.
        slide_tiles: tile features ``[B, N, D]`` padded to the longest bag, or None.
        slide_tile_present: ``[B, N]`` bool marking real (not padding) tiles.
    """

    tabular: dict[str, Tensor]
    present: dict[str, Tensor]
    slide_tiles: Tensor | None = None
    slide_tile_present: Tensor | None = None

    @property
    def size(self) -> int:
        for values in self.present.values():
            return int(values.shape[0])
        raise ValueError("empty batch")


@dataclass
class SurvivalOutput:
    """Hazard logits ``[B, K]``, modality attention ``[B, M]`` and, with slides, tiles ``[B, N]``."""

    logits: Tensor
    modality_weights: Tensor
    modality_present: Tensor
    tile_weights: Tensor | None = field(default=None)

    @property
    def hazards(self) -> Tensor:
        return torch.sigmoid(self.logits)


class MultimodalSurvivalModel(nn.Module):
    """Encoders per modality, gated-attention fusion over present modalities, hazard head."""

    def __init__(self, config: SurvivalModelConfig) -> None:
        super().__init__()
        if not config.modalities:
            raise ValueError("the model needs at least one modality")
        self.config = config
        self.tabular_encoders = nn.ModuleDict(
            {
                branch.modality: TabularEncoder(
                    branch.n_features,
                    hidden_dim=config.hidden_dim,
                    embed_dim=config.embed_dim,
                    n_layers=config.n_layers,
                    dropout=config.dropout,
                    missing_indicators=branch.missing_indicators,
                )
                for branch in config.tabular
            }
        )
        self.slide_encoder = (
            SlideEncoder(
                config.slide_feature_dim,
                hidden_dim=config.hidden_dim,
                embed_dim=config.embed_dim,
                dropout=config.dropout,
            )
            if config.slide_feature_dim is not None
            else None
        )
        self.fusion = ModalityFusion(
            len(config.modalities),
            config.embed_dim,
            dropout=config.dropout,
            modality_dropout=config.modality_dropout,
        )
        self.head = HazardHead(
            config.embed_dim, config.hidden_dim, config.n_time_bins, dropout=config.dropout
        )

    def forward_features(self, batch: SurvivalBatch) -> tuple[Tensor, Tensor, Tensor | None]:
        """Encode each modality.

        Returns:
            ``(tokens [B, M, E], present [B, M], tile_weights [B, N] or None)``.
        """
        size = batch.size
        device = self.fusion.modality_embedding.device
        tokens: list[Tensor] = []
        present: list[Tensor] = []
        for branch in self.config.tabular:
            encoder = self.tabular_encoders[branch.modality]
            values = batch.tabular.get(branch.modality)
            if values is None:
                values = torch.full((size, branch.n_features), float("nan"), device=device)
            has = batch.present.get(branch.modality, torch.zeros(size, dtype=torch.bool))
            # A modality whose every feature is missing carries no information.
            has = has.to(device) & ~torch.isnan(values).all(dim=1)
            tokens.append(encoder(values))  # [B, E]
            present.append(has)
        tile_weights = None
        if self.slide_encoder is not None:
            has_slide = batch.present.get(SLIDE, torch.zeros(size, dtype=torch.bool)).to(device)
            if batch.slide_tiles is None or batch.slide_tile_present is None:
                token = torch.zeros(size, self.config.embed_dim, device=device)
                has_slide = torch.zeros_like(has_slide)
            else:
                token, tile_weights = self.slide_encoder(batch.slide_tiles, batch.slide_tile_present)
                has_slide = has_slide & batch.slide_tile_present.any(dim=1)
            tokens.append(token)
            present.append(has_slide)
        return torch.stack(tokens, dim=1), torch.stack(present, dim=1), tile_weights

    def forward_head(self, tokens: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        """``tokens [B, M, E]``, ``present [B, M]`` -> ``(logits [B, K], weights [B, M])``."""
        fused, weights = self.fusion(tokens, present)  # [B, E], [B, M]
        return self.head(fused), weights

    def forward(self, batch: SurvivalBatch) -> SurvivalOutput:
        tokens, present, tile_weights = self.forward_features(batch)
        if not bool(present.any(dim=1).all()):
            raise ValueError("every case needs at least one modality the model knows")
        logits, weights = self.forward_head(tokens, present)
        return SurvivalOutput(
            logits=logits, modality_weights=weights, modality_present=present,
            tile_weights=tile_weights,
        )


def create_model(
    config: SurvivalModelConfig, *, state_dict: dict[str, Tensor] | None = None
) -> MultimodalSurvivalModel:
    """Build the model, optionally loading weights (strictly: every key must match)."""
    model = MultimodalSurvivalModel(config)
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model
