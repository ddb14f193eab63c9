"""Checkpoint round trip and refusal of tampered or malicious files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from inference.models import create_model, load_members, save_checkpoint
from inference.runtime import (
    CheckpointError,
    eval_mode,
    load_checkpoint,
    seed_everything,
    sha256_of,
)
from tests.inference.models.tiny import random_batch, tiny_config


def _saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    seed_everything(0)
    model = create_model(config=tiny_config())
    path = tmp_path / "tiny.pt"
    save_checkpoint(
        path, name="tiny", version="test", config=tiny_config(), members=[model], extras={}
    )
    return path, model


def test_a_checkpoint_round_trip_reproduces_the_predictions(tmp_path: Path) -> None:
    path, model = _saved(tmp_path)
    loaded = create_model(checkpoint_path=path, expected_sha256=sha256_of(path))
    batch = random_batch(tiny_config(), n=5)
    with eval_mode(model, loaded):
        # Weights are stored in float16 to keep shipped files small.
        torch.testing.assert_close(model(batch).survival, loaded(batch).survival, atol=2e-3, rtol=0)
    assert loaded.config == tiny_config()


def test_it_refuses_a_tampered_checkpoint(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    pinned = sha256_of(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_members(path, expected_sha256=pinned)


class _WritesMarker:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_it_refuses_a_pickle_that_would_write_a_marker_file(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "payload": _WritesMarker(marker)}, path, pickle_protocol=2)
    assert not marker.exists()
    # Even with its own hash pinned (the worst case: an attacker who also edits the pin), the
    # weights-only unpickler must refuse to call anything.
    with pytest.raises(CheckpointError, match="weights-only"):
        load_checkpoint(path, expected_sha256=sha256_of(path))
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path, expected_sha256="0" * 64)
    assert not marker.exists()
    assert pickle.HIGHEST_PROTOCOL >= 2


def test_it_refuses_a_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "absent.pt", expected_sha256=None)
