"""Model factory and checkpoint format.

A checkpoint is a plain dictionary (loadable with ``weights_only=True``)::

    {"format": 1, "name": str, "version": str, "config": ModelConfig.to_dict(),
     "members": [state_dict, ...],   # ensemble members, float16 to keep files small
     "extras": {...}}                # calibration, neighbour bank, hallmarks, metrics
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from inference.models.config import ModelConfig
from inference.models.multimodal import MultimodalSurvival, SurvivalOutput
from inference.runtime import CheckpointError, load_checkpoint

CHECKPOINT_FORMAT = 1

__all__ = [
    "CHECKPOINT_FORMAT",
    "ModelConfig",
    "MultimodalSurvival",
    "SurvivalOutput",
    "create_model",
    "load_members",
    "save_checkpoint",
]


def create_model(
    *,
    config: ModelConfig | None = None,
    checkpoint_path: Path | None = None,
    expected_sha256: str | None = None,
) -> MultimodalSurvival:
    """Build a model, optionally with weights from a local checkpoint.

    There is one architecture, :class:`MultimodalSurvival`; a checkpoint's ``name`` names the
    trained model, not the architecture, so no architecture name is asked for.

    Args:
        config: the config for a fresh model; ignored when a checkpoint is given (the checkpoint's
            stored config wins so weights and vocabulary always match).
        checkpoint_path: local checkpoint; its first ensemble member is loaded.
        expected_sha256: pinned digest of the checkpoint.

    Returns:
        The model (in training mode, as torch modules start).
    """
    if checkpoint_path is not None:
        members, _ = load_members(checkpoint_path, expected_sha256=expected_sha256)
        return members[0]
    if config is None:
        raise ValueError("create_model() needs a config or a checkpoint_path")
    return MultimodalSurvival(config)


def save_checkpoint(
    path: Path,
    *,
    name: str,
    version: str,
    config: ModelConfig,
    members: list[MultimodalSurvival],
    extras: dict[str, Any],
) -> None:
    """Write an ensemble checkpoint.

    Args:
        path: destination file.
        name: model name.
        version: model version string.
        config: shared config of all members.
        members: trained members.
        extras: plain-container metadata (calibration, neighbour bank, metrics).
    """
    states = [
        {key: value.detach().to(torch.float16).cpu() for key, value in m.state_dict().items()}
        for m in members
    ]
    payload = {
        "format": CHECKPOINT_FORMAT,
        "name": name,
        "version": version,
        "config": config.to_dict(),
        "members": states,
        "extras": extras,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def load_members(
    path: Path, *, expected_sha256: str | None
) -> tuple[list[MultimodalSurvival], dict[str, Any]]:
    """Load every ensemble member of a checkpoint.

    Args:
        path: local checkpoint file.
        expected_sha256: pinned digest (``None`` only for a site-trained checkpoint).

    Returns:
        The members (float32) and the checkpoint dictionary without the weights.

    Raises:
        CheckpointError: bad hash, unsafe content or an unknown format.
    """
    payload = load_checkpoint(path, expected_sha256=expected_sha256)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {path.name} has unknown format {payload.get('format')}")
    config = ModelConfig.from_dict(payload["config"])
    members = []
    for state in payload["members"]:
        model = MultimodalSurvival(config)
        model.load_state_dict({key: value.float() for key, value in state.items()})
        members.append(model)
    meta = {key: value for key, value in payload.items() if key != "members"}
    return members, meta
