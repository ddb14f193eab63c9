"""Integrated gradients over the standardised tabular inputs (Sundararajan et al. 2017).

The baseline is the training mean (0 after standardisation) with the case's own missing mask, so a
feature that was not measured gets no attribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from inference.models.batch import ModalityBatch, TabularBatch

ATTRIBUTED = ("clinical", "labs", "mutations", "copy_number", "expression")


def integrated_gradients(
    output_of: Callable[[ModalityBatch], Tensor], batch: ModalityBatch, steps: int = 32
) -> dict[str, Tensor]:
    """Attributions of one case's tabular features.

    Args:
        output_of: maps a batch to a (B,) scalar output per row (differentiable).
        batch: one case (B = 1).
        steps: Riemann steps (midpoint rule).

    Returns:
        modality -> (F,) attributions in output units; they sum (over all modalities) to
        approximately output(case) - output(baseline).
    """
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps  # (S,)
    expanded = batch.repeat(steps)
    inputs: dict[str, Tensor] = {}
    changes: dict[str, Any] = {}
    for name in ATTRIBUTED:
        tabular: TabularBatch | None = getattr(batch, name)
        if tabular is None:
            continue
        scaled = (alphas[:, None] * tabular.values).detach().requires_grad_(True)  # (S, F)
        inputs[name] = scaled
        changes[name] = TabularBatch(values=scaled, missing=tabular.missing.expand(steps, -1))
    path = replace(expanded, **changes)
    outputs = output_of(path)  # (S,)
    gradients = torch.autograd.grad(outputs.sum(), list(inputs.values()))
    result = {}
    for (name, _), grad in zip(inputs.items(), gradients, strict=True):
        values = getattr(batch, name).values[0]  # (F,)
        result[name] = (grad.mean(dim=0) * values).detach()  # (F,)
    return result
