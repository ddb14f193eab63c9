"""Torch tile encoders: a timm-style CNN or ViT (``forward_features`` / ``forward_head``) whose
weights come from a site-provided checkpoint on local disk, loaded with
``torch.load(..., weights_only=True)``; the ViT uses timm's ``VisionTransformer`` parameter names,
so a timm ViT state dict loads into it. Runs on the GPU when there is one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch convention
from torch import nn

from inference.slides.encoders import Features, Tiles

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# Torch encoders (timm-style)


@dataclass(frozen=True)
class TorchEncoderConfig:
    """Architecture of a torch tile encoder; stored in the checkpoint next to the weights.

    Attributes:
        arch: ``"cnn"`` (small ResNet) or ``"vit"`` (timm ``VisionTransformer`` layout).
        image_size: input side the tiles are resized to.
        widths: CNN stage widths (the last is the embedding size).
        embed_dim: ViT embedding size.
        depth: ViT blocks.
        num_heads: ViT attention heads.
        patch_size: ViT patch side.
        mlp_ratio: ViT MLP hidden size / embedding size.
        mean: per-channel normalisation mean (0..1 scale).
        std: per-channel normalisation std.
    """

    arch: Literal["cnn", "vit"] = "cnn"
    image_size: int = 224
    widths: tuple[int, ...] = (32, 64, 128, 256)
    embed_dim: int = 192
    depth: int = 4
    num_heads: int = 3
    patch_size: int = 16
    mlp_ratio: float = 4.0
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    @property
    def dim(self) -> int:
        """Embedding size."""
        return self.widths[-1] if self.arch == "cnn" else self.embed_dim

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TorchEncoderConfig:
        """Rebuild from :func:`dataclasses.asdict` output (lists become tuples)."""
        known: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in data.items()
            if k in cls.__dataclass_fields__
        }
        return cls(**known)


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convolutions with a residual connection."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample: nn.Module = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.downsample(x))


class SmallResNet(nn.Module):
    """A small ResNet: stem, one basic block per stage, global average pooling."""

    def __init__(self, cfg: TorchEncoderConfig) -> None:
        super().__init__()
        w0 = cfg.widths[0]
        self.stem = nn.Sequential(
            nn.Conv2d(3, w0, 7, 2, 3, bias=False),
            nn.BatchNorm2d(w0),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        stages = []
        cin = w0
        for i, w in enumerate(cfg.widths):
            stages.append(BasicBlock(cin, w, 1 if i == 0 else 2))
            cin = w
        self.stages = nn.Sequential(*stages)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 3, S, S) -> (B, C, S/32, S/32)
        return self.stages(self.stem(x))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, h, w) -> (B, C)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class PatchEmbed(nn.Module):
    """Image to patch tokens with one strided convolution (timm's ``patch_embed.proj``)."""

    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, 3, S, S) -> (B, D, S/p, S/p) -> (B, N, D)
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection (timm layout)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        # (B, N, 3D) -> (3, B, H, N, D/H)
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        # (B, H, N, D/H) -> (B, N, D)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """Two-layer GELU MLP (timm's ``mlp.fc1`` / ``mlp.fc2``)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT with timm's parameter names (``cls_token``, ``pos_embed``, ``blocks.i...``, ``norm``)."""

    def __init__(self, cfg: TorchEncoderConfig) -> None:
        super().__init__()
        n_patches = (cfg.image_size // cfg.patch_size) ** 2
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n_patches + 1, cfg.embed_dim) * 0.02)
        self.blocks = nn.Sequential(
            *[Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.depth)]
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=1e-6)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x)  # (B, N, D)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)  # (B, 1, D)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed  # (B, N+1, D)
        return self.norm(self.blocks(tokens))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        # (B, N+1, D) -> class token (B, D)
        return x[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def build_encoder_model(cfg: TorchEncoderConfig) -> nn.Module:
    """Instantiate the architecture of ``cfg`` with random weights.

    Args:
        cfg: the architecture.

    Returns:
        The model (in training mode, as constructed).
    """
    if cfg.arch == "cnn":
        return SmallResNet(cfg)
    if cfg.arch == "vit":
        if cfg.image_size % cfg.patch_size or cfg.embed_dim % cfg.num_heads:
            raise ValueError("image_size must divide by patch_size and embed_dim by num_heads")
        return VisionTransformer(cfg)
    raise ValueError(f"unknown encoder architecture {cfg.arch!r}")


def save_encoder_checkpoint(model: nn.Module, cfg: TorchEncoderConfig, path: str | Path) -> str:
    """Write a weights-only checkpoint ``{"config", "state_dict"}``; returns its sha256."""
    torch.save({"config": asdict(cfg), "state_dict": model.state_dict()}, str(path))
    return _sha256(Path(path))


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class TorchTileEncoder:
    """A torch tile encoder loaded from a local checkpoint.

    Args:
        model: the network (put in eval mode here).
        cfg: its architecture.
        name: encoder name recorded with the features.
        version: version recorded with the features (weights hash prefix).
        device: where to run.
    """

    feature_names: tuple[str, ...] = ()

    def __init__(
        self,
        model: nn.Module,
        cfg: TorchEncoderConfig,
        *,
        name: str,
        version: str,
        device: torch.device,
    ) -> None:
        self.model = model.to(device).eval()
        self.cfg = cfg
        self.name = name
        self.version = version
        self.device = device
        self.dim = cfg.dim
        # (x / 255 - mean) / std as one multiply-add: x * scale + shift.
        std = torch.tensor(cfg.std, device=device).view(1, 3, 1, 1)
        mean = torch.tensor(cfg.mean, device=device).view(1, 3, 1, 1)
        self._scale = 1.0 / (255.0 * std)
        self._shift = -mean / std

    def preprocess(self, tiles: Tiles) -> torch.Tensor:
        """uint8 ``(n, h, w, 3)`` -> normalised float ``(n, 3, S, S)`` on the device.

        The result keeps the channels-last memory layout of the tiles (no transposing copy),
        which the convolution kernels also run faster on.
        """
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(tiles))
            if self.device.type == "cuda":
                x = x.pin_memory().to(self.device, non_blocking=True)
            x = x.permute(0, 3, 1, 2).float()  # (n, h, w, 3) -> (n, 3, h, w), channels-last
            size = self.cfg.image_size
            if x.shape[-1] != size or x.shape[-2] != size:
                x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
            return x.mul_(self._scale).add_(self._shift)

    def prepare(self, tiles: Tiles) -> torch.Tensor:
        """Same as :meth:`preprocess`; run by the reader thread ahead of the model."""
        return self.preprocess(tiles)

    def encode_prepared(self, prepared: torch.Tensor) -> Features:
        """Embeddings of a batch from :meth:`prepare`."""
        with torch.inference_mode():
            y = self.model(prepared)
        return y.float().cpu().numpy().astype(np.float32, copy=False)

    def encode(self, tiles: Tiles, mpp: float) -> Features:
        """Embeddings of ``(n, h, w, 3)`` uint8 tiles; ``mpp`` is recorded by the caller only."""
        return self.encode_prepared(self.preprocess(tiles))


def load_torch_encoder(
    checkpoint_path: str | Path,
    *,
    config: TorchEncoderConfig | None = None,
    expected_sha256: str | None = None,
    name: str | None = None,
    device: str | torch.device | None = None,
) -> TorchTileEncoder:
    """Load a site-provided encoder checkpoint from local disk (never downloads).

    Args:
        checkpoint_path: ``{"config", "state_dict"}`` as written by
            :func:`save_encoder_checkpoint`, or a bare (timm) state dict with ``config`` given.
        config: architecture when the checkpoint does not carry one.
        expected_sha256: pinned digest; the file is refused before unpickling if it differs.
        name: encoder name (default ``"torch-<arch>"``).
        device: ``"cpu"``, ``"cuda"``; default CUDA when available.

    Returns:
        The encoder, in eval mode on its device.

    Raises:
        ValueError: hash mismatch, missing configuration or weights that do not fit.
    """
    path = Path(checkpoint_path)
    digest = _sha256(path)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise ValueError(f"encoder checkpoint {path.name} does not match its pinned sha256")
    # weights_only=True: a crafted checkpoint cannot run code while unpickling.
    payload = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(payload, dict) and "state_dict" in payload:
        state = payload["state_dict"]
        if config is None and isinstance(payload.get("config"), dict):
            config = TorchEncoderConfig.from_dict(payload["config"])
    else:
        state = payload
    if config is None:
        raise ValueError("the checkpoint carries no configuration; pass config=")
    model = build_encoder_model(config)
    # Classification heads of pretrained checkpoints are not part of the encoder.
    state = {k: v for k, v in state.items() if not k.startswith(("head.", "fc.", "fc_norm."))}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"checkpoint does not fit the {config.arch} encoder: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}"
        )
    dev = (
        torch.device(device)
        if device
        else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    logger.info("loaded tile encoder %s (sha256 %s) on %s", path.name, digest[:12], dev)
    return TorchTileEncoder(
        model, config, name=name or f"torch-{config.arch}", version=digest[:12], device=dev
    )
