"""Exact Shapley values over modalities, evaluating every subset through the presence mask.

With at most seven modalities there are at most 128 subsets, so no sampling is needed: the model
is run once on a batch holding the case under every subset of its present modalities.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class ShapleyResult:
    """Shapley values of the present modalities.

    Attributes:
        values: modality index -> Shapley value.
        empty: value with no modality (the model's population-level prediction).
        full: value with every present modality; ``empty + sum(values) == full``.
    """

    values: dict[int, float]
    empty: float
    full: float


def exact_modality_shapley(
    value_of_masks: Callable[[Tensor], Tensor], present: Sequence[int], n_modalities: int
) -> ShapleyResult:
    """Exact Shapley values.

    Args:
        value_of_masks: maps (S, M) bool presence masks to (S,) values of the case.
        present: indices of the case's present modalities (the players).
        n_modalities: M.

    Returns:
        The values; they sum to ``full - empty`` exactly (up to float rounding).
    """
    players = list(present)
    k = len(players)
    subsets = [frozenset(c) for r in range(k + 1) for c in itertools.combinations(players, r)]
    masks = torch.zeros(len(subsets), n_modalities, dtype=torch.bool)
    for row, subset in enumerate(subsets):
        masks[row, list(subset)] = True
    values = value_of_masks(masks).double().tolist()
    value = dict(zip(subsets, values, strict=True))
    shapley: dict[int, float] = {}
    for player in players:
        total = 0.0
        others = [p for p in players if p != player]
        for r in range(len(others) + 1):
            weight = math.factorial(r) * math.factorial(k - r - 1) / math.factorial(k)
            for combo in itertools.combinations(others, r):
                subset = frozenset(combo)
                total += weight * (value[subset | {player}] - value[subset])
        shapley[player] = total
    return ShapleyResult(values=shapley, empty=value[frozenset()], full=value[frozenset(players)])
