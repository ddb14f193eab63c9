"""Training losses: piecewise-exponential discrete-time likelihood and Cox partial likelihood."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor


@dataclass(frozen=True)
class BinnedTargets:
    """Survival targets placed on the time grid.

    Attributes:
        bin_index: (N,) long, the bin in which follow-up ends.
        fraction: (N,) float, fraction of that bin lived through (0..1].
        event: (N,) float, 1 if the event happened inside the grid.
        log_width: (N,) float, log of that bin's width.
    """

    bin_index: Tensor
    fraction: Tensor
    event: Tensor
    log_width: Tensor


def bin_targets(
    times: npt.NDArray[np.float64], events: npt.NDArray[np.float64], edges: tuple[float, ...]
) -> BinnedTargets:
    """Place follow-up times on the grid; follow-up beyond the last edge is censored there.

    Args:
        times: (N,) follow-up in the grid's unit.
        events: (N,) 1 = event.
        edges: (K + 1,) bin edges starting at 0.

    Returns:
        The binned targets.
    """
    grid = np.asarray(edges, dtype=np.float64)
    horizon = grid[-1]
    beyond = times > horizon
    clipped = np.clip(times, 1e-6, horizon)
    index = np.clip(np.searchsorted(grid, clipped, side="left") - 1, 0, len(grid) - 2)
    widths = grid[index + 1] - grid[index]
    fraction = np.clip((clipped - grid[index]) / widths, 1e-6, 1.0)
    event = np.where(beyond, 0.0, events)
    return BinnedTargets(
        bin_index=torch.as_tensor(index, dtype=torch.long),
        fraction=torch.as_tensor(fraction, dtype=torch.float32),
        event=torch.as_tensor(event, dtype=torch.float32),
        log_width=torch.as_tensor(np.log(widths), dtype=torch.float32),
    )


def piecewise_exponential_nll(log_hazard: Tensor, targets: BinnedTargets) -> Tensor:
    """Mean negative log-likelihood with a hazard constant within each bin.

    ``exp(log_hazard[:, k])`` is the cumulative hazard accrued over bin k, so a case followed into
    bin k for a fraction f has log S = -sum_{j<k} H_j - f H_k, and an event there adds
    log(H_k / width_k). No midpoint rule is needed for censoring inside a bin.

    Args:
        log_hazard: (N, K).
        targets: from :func:`bin_targets`.

    Returns:
        Scalar loss.
    """
    hazard = torch.exp(log_hazard)  # (N, K)
    before = torch.cumsum(hazard, dim=1) - hazard  # (N, K) hazard of the bins before k
    rows = torch.arange(log_hazard.shape[0], device=log_hazard.device)
    k = targets.bin_index
    log_survival = -(before[rows, k] + targets.fraction * hazard[rows, k])
    log_density = log_hazard[rows, k] - targets.log_width
    return -(log_survival + targets.event * log_density).mean()


def cox_partial_nll(risk: Tensor, times: Tensor, events: Tensor) -> Tensor:
    """Breslow negative log partial likelihood, averaged over events.

    Args:
        risk: (N,) log relative hazard.
        times: (N,) follow-up.
        events: (N,) 1 = event.

    Returns:
        Scalar loss (0 when the batch has no event).
    """
    order = torch.argsort(times, descending=True)
    risk, events = risk[order], events[order]
    log_risk_set = torch.logcumsumexp(risk, dim=0)  # risk set of case i = everyone with T >= T_i
    n_events = events.sum()
    if n_events == 0:
        return risk.sum() * 0.0
    return -((risk - log_risk_set) * events).sum() / n_events
