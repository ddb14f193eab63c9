"""Training losses for discrete-time survival models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def discrete_time_nll(
    logits: Tensor,
    bin_index: Tensor,
    fraction: Tensor,
    events: Tensor,
    *,
    event_weight: float = 1.0,
) -> Tensor:
    """Negative log-likelihood of a logistic-hazard (discrete-time) survival model.

    An event in bin k contributes ``log S(start of k) + log h_k``; a censoring a fraction ``f``
    into bin k contributes ``log S(start of k) + f * log(1 - h_k)`` (constant hazard rate within
    the bin, the same assumption :func:`inference.survival.discrete.survival_at` uses).

    Args:
        logits: hazard logits, shape ``[B, K]``.
        bin_index: bin of each observed time, shape ``[B]`` (long).
        fraction: fraction of that bin lived through, shape ``[B]``, in (0, 1].
        events: 1.0 = event, 0.0 = censored, shape ``[B]``.
        event_weight: extra weight on uncensored subjects (1.0 = the plain likelihood).

    Returns:
        Mean loss over the batch (a scalar).
    """
    log_hazard = F.logsigmoid(logits)  # [B, K]
    log_survive_bin = F.logsigmoid(-logits)  # log(1 - h)  [B, K]
    log_survival_end = torch.cumsum(log_survive_bin, dim=1)  # log S(end of bin k)  [B, K]
    log_survival_start = F.pad(log_survival_end[:, :-1], (1, 0))  # [B, K]

    index = bin_index.unsqueeze(1)  # [B, 1]
    start = log_survival_start.gather(1, index).squeeze(1)  # [B]
    event_ll = start + log_hazard.gather(1, index).squeeze(1)
    censored_ll = start + fraction * log_survive_bin.gather(1, index).squeeze(1)
    weights = torch.where(events > 0, event_weight, 1.0)
    log_likelihood = torch.where(events > 0, event_ll, censored_ll)
    return -(weights * log_likelihood).sum() / weights.sum()
