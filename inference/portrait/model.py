"""The portrait model: one survival model across cancer types on the clinical vocabulary.

Risk is additive over the vocabulary (so each covariate's contribution can be listed) plus an
optional small MLP for interactions::

    risk = sum_f [m_f (w_f z_f + sum_k h_fk relu(z_f - k) + D[type]_f z_f) + (1 - m_f) u_f]
           + mlp([z * m, m, type])

``z`` is the standardised feature, ``m`` its observed-mask (a missing feature contributes nothing:
it is masked, not filled), ``D[type]`` a type-specific deviation shrunk towards the shared weights,
and ``u_f`` a missingness offset (missing and measured patients differ). Stage-like features
(:data:`MONOTONE`) have non-negative total weights, so a higher stage never lowers risk. Survival is
``S0_cohort(t) ** exp(risk)`` with the Breslow baseline of the type's reference cohort.

A checkpoint also holds bootstrap refits of the same configuration (the survival band) and, per
cancer type, the conformal widening of the time-to-event interval with its test coverage (see
:mod:`inference.portrait.uncertainty`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from inference.portrait.uncertainty import band
from inference.portrait.vocabulary import FEATURE_NAMES, ClinicalPortrait, encode
from inference.runtime import eval_mode, load_checkpoint
from inference.schema import TimeInterval
from inference.survival import conformal

FloatArray = npt.NDArray[np.float64]

FORMAT = "oncoboard-portrait/2"
#: Format 1 had no bootstrap replicates; it still loads (without a band).
FORMATS = ("oncoboard-portrait/1", FORMAT)

#: Features whose higher values must not lower risk (stage and tumour burden).
MONOTONE: tuple[str, ...] = (
    "stage_group",
    "advanced_stage",
    "t_category",
    "n_category",
    "m_category",
    "nodes_positive",
    "tumour_size_mm",
    "breslow_thickness_mm",
    "nottingham_prognostic_index",
)
HINGE_KNOTS: tuple[float, ...] = (-1.0, 0.0, 1.0)


@dataclass(frozen=True)
class PortraitConfig:
    """Model configuration, stored in the checkpoint.

    Attributes:
        cancer_types: OncoTree codes, in embedding order.
        hinge_features: features with a piecewise-linear shape (continuous ones).
        mlp_hidden: hidden width of the interaction MLP (0 = additive only).
        dropout: MLP dropout.
        type_shapes: give each type its own deviation of the piecewise-linear shapes too.
    """

    cancer_types: tuple[str, ...]
    hinge_features: tuple[str, ...]
    mlp_hidden: int = 0
    dropout: float = 0.1
    type_shapes: bool = False


class PortraitNet(nn.Module):
    """Additive masked Cox risk with type-specific deviations and an optional interaction MLP."""

    def __init__(self, config: PortraitConfig) -> None:
        super().__init__()
        self.config = config
        n_features, n_types = len(FEATURE_NAMES), len(config.cancer_types)
        self.hinge_index = [FEATURE_NAMES.index(n) for n in config.hinge_features]
        self.shared = nn.Parameter(torch.zeros(n_features))
        self.hinge = nn.Parameter(torch.zeros(len(self.hinge_index), len(HINGE_KNOTS)))
        self.deviation = nn.Parameter(torch.zeros(n_types, n_features))
        self.missing_offset = nn.Parameter(torch.zeros(n_types, n_features))
        self.monotone = torch.tensor([n in MONOTONE for n in FEATURE_NAMES], dtype=torch.bool)
        self.hinge_monotone = torch.tensor(
            [n in MONOTONE for n in config.hinge_features], dtype=torch.bool
        )
        self.hinge_deviation: nn.Parameter | None = None
        if config.type_shapes:
            self.hinge_deviation = nn.Parameter(
                torch.zeros(n_types, len(self.hinge_index), len(HINGE_KNOTS))
            )
        self.mlp: nn.Module | None = None
        if config.mlp_hidden:
            self.mlp = nn.Sequential(
                nn.Linear(2 * n_features + n_types, config.mlp_hidden),
                nn.GELU(),
                nn.Dropout(config.dropout),
                nn.Linear(config.mlp_hidden, 1),
            )

    def contributions(self, z: Tensor, mask: Tensor, types: Tensor) -> Tensor:
        """Additive part per feature.

        Args:
            z: (N, F) standardised features, 0 where missing.
            mask: (N, F) 1 = observed.
            types: (N,) cancer-type index.

        Returns:
            (N, F) contribution of each feature to the risk.
        """
        weights = self.shared[None, :] + self.deviation[types]  # (N, F)
        linear = weights * z * mask
        knots = torch.tensor(HINGE_KNOTS, dtype=z.dtype)
        hinge_z = z[:, self.hinge_index]  # (N, H)
        shaped = torch.relu(hinge_z[:, :, None] - knots[None, None, :])  # (N, H, K)
        hinge_weights = self.hinge[None]  # (1, H, K)
        if self.hinge_deviation is not None:
            hinge_weights = hinge_weights + self.hinge_deviation[types]  # (N, H, K)
        hinge = (shaped * hinge_weights).sum(-1) * mask[:, self.hinge_index]  # (N, H)
        linear = linear.index_add(1, torch.tensor(self.hinge_index, dtype=torch.long), hinge)
        return linear + (1.0 - mask) * self.missing_offset[types]

    def forward(self, z: Tensor, mask: Tensor, types: Tensor) -> Tensor:
        """Risk (log relative hazard), shape (N,)."""
        risk = self.contributions(z, mask, types).sum(1)
        if self.mlp is not None:
            onehot = nn.functional.one_hot(types, len(self.config.cancer_types)).to(z.dtype)
            risk = risk + self.mlp(torch.cat([z * mask, mask, onehot], 1)).squeeze(1)  # (N,)
        return risk

    @torch.no_grad()
    def project(self) -> None:
        """Keep stage-like weights non-negative (called after every optimiser step)."""
        self.shared.data[self.monotone] = self.shared.data[self.monotone].clamp(min=0.0)
        floor = -self.shared.data[None, :].expand_as(self.deviation)
        columns = self.monotone[None, :].expand_as(self.deviation)
        self.deviation.data[columns] = torch.maximum(self.deviation.data[columns], floor[columns])
        self.hinge.data[self.hinge_monotone] = self.hinge.data[self.hinge_monotone].clamp(min=0.0)
        if self.hinge_deviation is not None:
            deviation = self.hinge_deviation.data[:, self.hinge_monotone]  # (T, Hm, K)
            floor_h = -self.hinge.data[self.hinge_monotone][None]  # (1, Hm, K)
            self.hinge_deviation.data[:, self.hinge_monotone] = torch.maximum(deviation, floor_h)


@dataclass(frozen=True)
class Standardiser:
    """Mean and SD of each transformed feature over the observed training values."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def apply(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(N, F) transformed features with NaN -> (z with 0 where missing, mask)."""
        mask = np.isfinite(x).astype(np.float64)
        z = (x - np.asarray(self.mean)) / np.asarray(self.std)
        return np.where(mask > 0, z, 0.0), mask

    @classmethod
    def fit(cls, x: FloatArray) -> Standardiser:
        observed = np.isfinite(x)
        count = observed.sum(axis=0)
        filled = np.where(observed, x, 0.0)
        mean = filled.sum(axis=0) / np.maximum(count, 1)
        spread = np.where(observed, x - mean, 0.0)
        std = np.sqrt((spread**2).sum(axis=0) / np.maximum(count, 1))
        std = np.where(std > 1e-8, std, 1.0)
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std))


@dataclass(frozen=True)
class PortraitBundle:
    """Everything needed to predict: network, scaling, baselines and validation facts.

    Attributes:
        config: network configuration.
        standardiser: feature scaling.
        grid_months: (G,) times of the baseline curves.
        baselines: cohort -> (G,) Breslow cumulative baseline hazard.
        reference_cohort: cancer type -> cohort whose baseline the app uses.
        validation: cancer type -> JSON-able facts for the page, from the test parts: cohorts,
            reference_cohort, test_n, test_events, horizon_months, harrell_c, coxph_c,
            calibration_slope, time_zero, time_zero_label, endpoint, non_commercial and
            conformal (nominal, measured_test, status and the correction in use).
        licences: cohort -> non-commercial flag.
    """

    config: PortraitConfig
    standardiser: Standardiser
    grid_months: tuple[float, ...]
    baselines: dict[str, tuple[float, ...]]
    reference_cohort: dict[str, str]
    validation: dict[str, dict[str, Any]] = field(default_factory=dict)
    licences: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Replicates:
    """Bootstrap refits of the chosen configuration, for the survival band.

    Attributes:
        nets: B networks, each fitted on a bootstrap resample of the training parts (resampled
            within each cohort) with the main model's hyper-parameters and feature scaling.
        hazards: cancer type -> (B, G) Breslow cumulative baseline hazard of the type's reference
            cohort, each from its own replicate's resample and risks.
    """

    nets: tuple[PortraitNet, ...]
    hazards: dict[str, FloatArray]


class PortraitModel:
    """A trained portrait model: encodes portraits and returns risks and survival curves."""

    def __init__(
        self, bundle: PortraitBundle, net: PortraitNet, replicates: Replicates | None = None
    ) -> None:
        self.bundle = bundle
        self.net = net
        self.replicates = replicates

    def tensors(self, x: FloatArray, types: list[str]) -> tuple[Tensor, Tensor, Tensor]:
        """Model tensors from transformed features and OncoTree codes (unknown codes raise)."""
        z, mask = self.bundle.standardiser.apply(x)
        index = [self.bundle.config.cancer_types.index(t) for t in types]
        return (
            torch.as_tensor(z, dtype=torch.float32),
            torch.as_tensor(mask, dtype=torch.float32),
            torch.as_tensor(index, dtype=torch.long),
        )

    def risk(self, x: FloatArray, types: list[str]) -> FloatArray:
        """(N,) risk of transformed features ``x`` (NaN = missing)."""
        with eval_mode(self.net):
            out = self.net(*self.tensors(x, types))
        return out.numpy().astype(np.float64)

    def contributions(self, x: FloatArray, types: list[str]) -> FloatArray:
        """(N, F) additive contribution of each feature (for the "why" list)."""
        with eval_mode(self.net):
            out = self.net.contributions(*self.tensors(x, types))
        return out.numpy().astype(np.float64)

    def survival(self, risk: FloatArray, cohorts: list[str]) -> FloatArray:
        """(N, G) survival on ``grid_months`` from risks and the cohorts' baselines."""
        hazard = np.stack([np.asarray(self.bundle.baselines[c]) for c in cohorts])  # (N, G)
        return np.asarray(np.exp(-hazard * np.exp(risk)[:, None]))

    def predict(self, portraits: list[ClinicalPortrait]) -> FloatArray:
        """(N, G) survival curves of portraits on ``grid_months``.

        Each portrait's ``cancer_type`` must be one the model covers (the caller abstains
        otherwise); the curve uses that type's reference cohort baseline.
        """
        types = self._covered_types(portraits)
        risk = self.risk(encode(portraits), types)
        return self.survival(risk, [self.bundle.reference_cohort[t] for t in types])

    def _covered_types(self, portraits: list[ClinicalPortrait]) -> list[str]:
        types = [p.cancer_type or "" for p in portraits]
        unknown = sorted({t for t in types if t not in self.bundle.reference_cohort})
        if unknown:
            raise ValueError(f"cancer types not covered by the portrait model: {unknown}")
        return types

    def survival_band(
        self, portraits: list[ClinicalPortrait], level: float = 0.9
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Survival curves with their bootstrap band, on ``grid_months``.

        Args:
            portraits: cases of covered cancer types (as for :meth:`predict`).
            level: central share of the bootstrap replicates inside the band.

        Returns:
            (mean, lower, upper), each (N, G): ``mean`` is the main model's curve (the same as
            :meth:`predict`), ``lower``/``upper`` the pointwise percentiles of the replicates'
            curves, widened where needed so that lower <= mean <= upper.

        Raises:
            ValueError: an uncovered cancer type, or a checkpoint without replicates (format 1).
        """
        if self.replicates is None or not self.replicates.nets:
            raise ValueError("this portrait checkpoint has no bootstrap replicates (no band)")
        types = self._covered_types(portraits)
        mean = self.predict(portraits)
        tensors = self.tensors(encode(portraits), types)
        curves = []
        for b, net in enumerate(self.replicates.nets):
            with eval_mode(net):
                risk = net(*tensors).numpy().astype(np.float64)  # (N,)
            hazard = np.stack([self.replicates.hazards[t][b] for t in types])  # (N, G)
            curves.append(np.exp(-hazard * np.exp(risk)[:, None]))
        lower, upper = band(mean, np.stack(curves), level)  # stack: (B, N, G)
        return mean, lower, upper

    def time_interval(self, cancer_type: str, risk: float) -> TimeInterval | None:
        """Conformal interval for the time to event of a case of ``cancer_type`` with ``risk``.

        The model interval is read off the case's curve (reference-cohort baseline) at the
        nominal level and widened by the type's calibrated correction.

        Args:
            cancer_type: a covered portrait type.
            risk: the case's risk (:meth:`risk`).

        Returns:
            The interval, or None when the type abstains from intervals (its test coverage fell
            short of nominal by more than 3 points even after widening, or too few events).

        Raises:
            ValueError: an uncovered type, or a checkpoint without conformal facts.
        """
        if cancer_type not in self.bundle.reference_cohort:
            raise ValueError(f"cancer type not covered by the portrait model: {cancer_type!r}")
        facts = self.bundle.validation.get(cancer_type, {}).get("conformal")
        if facts is None:
            raise ValueError(f"this portrait checkpoint has no conformal facts for {cancer_type}")
        if facts["status"] == "abstained":
            return None
        grid = np.asarray(self.bundle.grid_months)
        alpha = 1.0 - float(facts["nominal"])
        curve = self.survival(np.array([risk]), [self.bundle.reference_cohort[cancer_type]])
        raw = conformal.model_intervals(grid, curve, alpha)
        calibration = conformal.ConformalCalibration(
            alpha=alpha,
            correction=float(facts["correction_months"]),
            n_events=int(facts["calibration_events"]),
        )
        low, high = conformal.apply(raw, calibration)[0]
        return TimeInterval(
            lower_months=float(low),
            upper_months=float(high) if np.isfinite(high) and high <= grid[-1] else None,
            nominal_coverage=float(facts["nominal"]),
            measured_coverage=facts["measured_test"],
        )


def bundle_to_checkpoint(
    bundle: PortraitBundle, net: PortraitNet, replicates: Replicates | None = None
) -> dict[str, Any]:
    """A weights-only checkpoint dictionary (tensors, strings, numbers, lists, dicts)."""
    meta = asdict(bundle)
    out: dict[str, Any] = {"format": FORMAT, "meta": meta, "state": net.state_dict()}
    if replicates is not None:
        out["replicates"] = {
            "states": [r.state_dict() for r in replicates.nets],
            # float32 halves the file; the band needs no more precision than that.
            "hazards": {
                t: torch.as_tensor(h, dtype=torch.float32) for t, h in replicates.hazards.items()
            },
        }
    return out


def model_from_checkpoint(path: Path, *, expected_sha256: str | None) -> PortraitModel:
    """Load a checkpoint saved by :func:`bundle_to_checkpoint`, checking its pinned hash."""
    raw = load_checkpoint(path, expected_sha256=expected_sha256)
    if raw.get("format") not in FORMATS:
        raise ValueError(f"{path.name} is not a portrait checkpoint")
    meta = raw["meta"]
    config = PortraitConfig(
        cancer_types=tuple(meta["config"]["cancer_types"]),
        hinge_features=tuple(meta["config"]["hinge_features"]),
        mlp_hidden=int(meta["config"]["mlp_hidden"]),
        dropout=float(meta["config"]["dropout"]),
        type_shapes=bool(meta["config"].get("type_shapes", False)),
    )
    bundle = PortraitBundle(
        config=config,
        standardiser=Standardiser(
            tuple(meta["standardiser"]["mean"]), tuple(meta["standardiser"]["std"])
        ),
        grid_months=tuple(meta["grid_months"]),
        baselines={k: tuple(v) for k, v in meta["baselines"].items()},
        reference_cohort=dict(meta["reference_cohort"]),
        validation=dict(meta["validation"]),
        licences=dict(meta["licences"]),
    )
    net = PortraitNet(config)
    net.load_state_dict(raw["state"])
    replicates = None
    if "replicates" in raw:
        nets = []
        for state in raw["replicates"]["states"]:
            replicate = PortraitNet(config)
            replicate.load_state_dict(state)
            nets.append(replicate.eval())
        hazards = {t: h.numpy().astype(np.float64) for t, h in raw["replicates"]["hazards"].items()}
        replicates = Replicates(tuple(nets), hazards)
    return PortraitModel(bundle, net.eval(), replicates)


SHIPPED_PATH = Path(__file__).resolve().parents[1] / "weights" / "portrait" / "portrait.pt"
#: Trained without the non-commercial cohorts (for deployments that must avoid them).
COMMERCIAL_PATH = SHIPPED_PATH.with_name("portrait-commercial.pt")
#: Pinned digests of the committed checkpoints (updated by whoever retrains and commits them).
SHIPPED_SHA256 = "674a9a2ed139d7f656edec3ffcd628669c002370b4d575573cd61c1dddf901f6"
COMMERCIAL_SHA256 = "1396c8d3cf1166fe9b4a98d6d764411a6fc3b8036245a7e32e42f872b051a171"


def load_shipped(*, commercial_only: bool = False) -> PortraitModel:
    """A committed checkpoint, checked against its pinned sha256 before unpickling.

    Args:
        commercial_only: the checkpoint trained without non-commercial data (10 types) instead
            of the default one (13 types, includes TCGA data licensed for non-commercial use).
    """
    if commercial_only:
        return model_from_checkpoint(COMMERCIAL_PATH, expected_sha256=COMMERCIAL_SHA256)
    return model_from_checkpoint(SHIPPED_PATH, expected_sha256=SHIPPED_SHA256)


def median_months(grid: FloatArray, curve: FloatArray) -> float | None:
    """First grid time with S <= 0.5, or None when the curve stays above it."""
    below = np.nonzero(curve <= 0.5)[0]
    return float(grid[below[0]]) if len(below) else None
