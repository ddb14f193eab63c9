"""Device choice, seeding, safe weight loading and the eval/inference-mode helper.

Every model call on the serving path goes through :func:`eval_mode`; every checkpoint goes through
:func:`load_checkpoint`, which checks a pinned sha256 *before* unpickling and then unpickles with
``weights_only=True`` so a crafted file cannot run code.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

logger = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, does not match its pinned hash, or is not a weights-only file."""


def choose_device(prefer: str | None = None) -> torch.device:
    """Pick the compute device.

    Args:
        prefer: ``"cpu"``, ``"cuda"`` or ``None``; ``None`` reads ``ONCOBOARD_DEVICE`` and falls
            back to CUDA when available, else CPU.

    Returns:
        The device to use.
    """
    name = prefer or os.environ.get("ONCOBOARD_DEVICE") or ""
    if name:
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available")
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (the CPU kernels used here are deterministic).

    Args:
        seed: the seed.

    Returns:
        A CPU ``torch.Generator`` seeded with ``seed`` for code that wants its own stream.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks by :func:`hashlib.file_digest`.

    Args:
        path: file to hash.

    Returns:
        The lowercase hex digest.
    """
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def pinned_digest(
    path: Path, expected_sha256: str | None, *, what: str, error: type[Exception]
) -> str:
    """The sha256 of a local file, after checking that it exists and matches its pin.

    Args:
        path: the file.
        expected_sha256: its pinned digest (any case); ``None`` checks existence only.
        what: how messages name the file ("checkpoint", "propensity file").
        error: the exception to raise, the caller's own.

    Returns:
        The lowercase hex digest.

    Raises:
        error: missing file or digest mismatch.
    """
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    digest = sha256_of(path)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        message = f"{what} {path.name} has sha256 {digest}, expected {expected_sha256}"
        raise error(f"{message}; refusing it")
    return digest


def load_checkpoint(path: Path, *, expected_sha256: str | None) -> dict[str, Any]:
    """Load a checkpoint dictionary safely.

    Args:
        path: local file; nothing is ever downloaded.
        expected_sha256: pinned digest. ``None`` is only for a site-trained checkpoint whose hash
            the caller recorded elsewhere; shipped checkpoints always pass their pin.

    Returns:
        The checkpoint dictionary.

    Raises:
        CheckpointError: missing file, hash mismatch, or content that is not weights-only.
    """
    digest = pinned_digest(path, expected_sha256, what="checkpoint", error=CheckpointError)
    try:
        # weights_only=True: the restricted unpickler only rebuilds tensors and plain containers,
        # so a pickle that tries to call a function fails here instead of running.
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path.name} is not a weights-only file: {error}"
        ) from error
    if not isinstance(payload, dict):
        raise CheckpointError(f"checkpoint {path.name} does not hold a dictionary")
    logger.info("loaded checkpoint %s (sha256 %s)", path.name, digest[:12])
    return payload


@contextlib.contextmanager
def eval_mode(*modules: nn.Module, gradients: bool = False) -> Iterator[None]:
    """Run the block with the modules in eval mode and torch inference mode.

    Dropout and modality dropout are controlled by module mode only, so this is the one switch that
    makes predictions deterministic. Previous training flags are restored afterwards.

    Args:
        modules: the modules to switch.
        gradients: keep autograd on (integrated gradients need input gradients); the modules are
            still in eval mode and their parameters are not updated.
    """
    previous = [module.training for module in modules]
    for module, was_training in zip(modules, previous, strict=True):
        # .eval() walks every submodule; skipping modules already in eval keeps the serving path
        # (whose modules stay in eval) free of that walk.
        if was_training:
            module.eval()
    try:
        with contextlib.nullcontext() if gradients else torch.inference_mode():
            yield
    finally:
        for module, was_training in zip(modules, previous, strict=True):
            if was_training:
                module.train(True)
