"""A trial's treatment-aware Cox model: the arithmetic shared by training and the app.

The model (fitted by :mod:`inference.training.rct_fit`) is one proportional-hazards model per
trial with the covariates, one indicator per non-control arm and one arm x covariate interaction
per arm and covariate::

    log h(t | x, arm) = log h0(t) + beta . x + alpha_arm + gamma_arm . x

with ``x`` the covariates transformed (``log1p`` for counts and sizes, as the portrait vocabulary
does), a missing value replaced by the training half's median, then standardised. Patient ``x``'s
hazard ratio of ``arm`` against control is ``exp(alpha_arm + gamma_arm . x)``, so the effect may
differ between patients (the interactions) while the main effects are shared by the arms; a
separate model per arm (a T-learner) would spend the trials' few events on re-learning the
prognostic effects twice. The interactions carry a ridge penalty chosen by cross-validation on the
training half, which shrinks them towards a common effect unless the data insist.

Bands come from ``DRAWS`` draws of the coefficients from their approximate posterior
``N(coef, covariance)`` (the inverse penalised information); the baseline hazard is held fixed, so
the band is the uncertainty of the effects, not of the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Vocabulary fields transformed with ``log1p`` (right-skewed counts and sizes).
LOG1P_FIELDS = frozenset({"nodes_positive", "tumour_size_mm", "breslow_thickness_mm"})
DRAWS = 400
DRAW_SEED = 20260101


@dataclass(frozen=True)
class CovariateScale:
    """How one covariate enters the model.

    Attributes:
        name: portrait-vocabulary field name.
        fill: value used when the record lacks it (training-half median, raw units).
        centre, scale: standardisation of the transformed value.
    """

    name: str
    fill: float
    centre: float
    scale: float

    def standardise(self, raw: float) -> float:
        value = math.log1p(max(raw, 0.0)) if self.name in LOG1P_FIELDS else raw
        return (value - self.centre) / self.scale


@dataclass(frozen=True)
class TrialModel:
    """One trial's fitted model (see the module docstring for its form).

    Attributes:
        trial_key: registry key (:mod:`inference.therapy.trials_rct`).
        arms: arm labels, control first.
        covariates: the covariates in coefficient order.
        coef: ``P`` main effects, ``K`` arm effects, then ``K x P`` interactions (arm-major).
        covariance: its approximate covariance, row-major (len(coef) squared).
        times_months: grid of the baseline cumulative hazard.
        baseline_cum_hazard: Breslow cumulative hazard at ``times_months`` (all at x = 0).
        penalty: ridge penalty on the interactions, chosen on the training half.
    """

    trial_key: str
    arms: tuple[str, ...]
    covariates: tuple[CovariateScale, ...]
    coef: tuple[float, ...]
    covariance: tuple[float, ...]
    times_months: tuple[float, ...]
    baseline_cum_hazard: tuple[float, ...]
    penalty: float

    @property
    def n_covariates(self) -> int:
        return len(self.covariates)

    def standardised(self, values: Mapping[str, float | None]) -> tuple[FloatArray, list[str]]:
        """The standardised covariate vector of a patient and the fields that were filled in."""
        x = np.empty(self.n_covariates)
        filled: list[str] = []
        for j, cov in enumerate(self.covariates):
            raw = values.get(cov.name)
            if raw is None or (isinstance(raw, float) and math.isnan(raw)):
                raw = cov.fill
                filled.append(cov.name)
            x[j] = cov.standardise(float(raw))
        return x, filled

    def arm_index(self, arm: str) -> int:
        return self.arms.index(arm)

    def linear_predictors(self, x: FloatArray, coef: FloatArray) -> FloatArray:
        """Linear predictor per arm for standardised rows.

        Args:
            x: (N, P) standardised covariates.
            coef: (D, len(coef)) coefficient draws (or one row).

        Returns:
            (D, N, K+1) linear predictors, control arm first.
        """
        p, k = self.n_covariates, len(self.arms) - 1
        beta = coef[:, :p]  # (D, P)
        alpha = coef[:, p : p + k]  # (D, K)
        gamma = coef[:, p + k :].reshape(coef.shape[0], k, p)  # (D, K, P)
        base = beta @ x.T  # (D, N)
        effect = alpha[:, :, None] + np.einsum("dkp,np->dkn", gamma, x)  # (D, K, N)
        out = np.concatenate([base[:, None, :], base[:, None, :] + effect], axis=1)  # (D,K+1,N)
        return np.transpose(out, (0, 2, 1))  # (D, N, K+1)

    def point(self) -> FloatArray:
        """(1, len(coef)) the fitted coefficients."""
        return np.asarray(self.coef, dtype=np.float64)[None, :]

    def draws(self, n: int = DRAWS, seed: int = DRAW_SEED) -> FloatArray:
        """(n, len(coef)) coefficient draws from N(coef, covariance), fixed seed."""
        d = len(self.coef)
        cov = np.asarray(self.covariance, dtype=np.float64).reshape(d, d)
        rng = np.random.default_rng(seed)
        return rng.multivariate_normal(np.asarray(self.coef), cov, size=n, method="eigh")

    def cum_hazard_at(self, times: Sequence[float] | FloatArray) -> FloatArray:
        """Baseline cumulative hazard at ``times`` (a right-continuous step function)."""
        grid = np.asarray(self.times_months)
        values = np.asarray(self.baseline_cum_hazard)
        idx = np.searchsorted(grid, np.asarray(times, dtype=np.float64), side="right") - 1
        return np.where(idx >= 0, values[np.clip(idx, 0, None)], 0.0)

    def survival(self, lp: FloatArray, times: Sequence[float] | FloatArray) -> FloatArray:
        """Survival at ``times`` for linear predictors ``lp`` (any shape): shape ``lp + (T,)``."""
        h0 = self.cum_hazard_at(times)
        return np.exp(-np.exp(lp)[..., None] * h0)

    def to_json(self) -> dict[str, object]:
        return {
            "trial_key": self.trial_key,
            "arms": list(self.arms),
            "covariates": [
                {"name": c.name, "fill": c.fill, "centre": c.centre, "scale": c.scale}
                for c in self.covariates
            ],
            "coef": list(self.coef),
            "covariance": list(self.covariance),
            "times_months": list(self.times_months),
            "baseline_cum_hazard": list(self.baseline_cum_hazard),
            "penalty": self.penalty,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TrialModel:
        """The model from its :meth:`to_json` form (a JSON object)."""
        return cls(
            trial_key=str(raw["trial_key"]),
            arms=tuple(str(a) for a in raw["arms"]),
            covariates=tuple(
                CovariateScale(
                    str(c["name"]), float(c["fill"]), float(c["centre"]), float(c["scale"])
                )
                for c in raw["covariates"]
            ),
            coef=tuple(float(v) for v in raw["coef"]),
            covariance=tuple(float(v) for v in raw["covariance"]),
            times_months=tuple(float(v) for v in raw["times_months"]),
            baseline_cum_hazard=tuple(float(v) for v in raw["baseline_cum_hazard"]),
            penalty=float(raw["penalty"]),
        )


def restricted_mean(survival: FloatArray, times: FloatArray) -> FloatArray:
    """Area under survival curves on ``times`` (left Riemann sum of the step function from 0).

    Args:
        survival: (..., T) survival at ``times``.
        times: (T,) increasing grid starting above 0.

    Returns:
        (...) restricted mean survival time up to ``times[-1]``.
    """
    edges = np.concatenate([[0.0], times])
    widths = np.diff(edges)  # (T,)
    previous = np.concatenate([np.ones(survival.shape[:-1] + (1,)), survival[..., :-1]], axis=-1)
    return np.asarray((previous * widths).sum(axis=-1))
