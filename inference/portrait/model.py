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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from inference.portrait.vocabulary import FEATURE_NAMES, ClinicalPortrait, encode
from inference.runtime import eval_mode, load_checkpoint

FloatArray = npt.NDArray[np.float64]

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
        validation: cancer type -> facts for the page (test C, cohorts, horizon).
        licences: cohort -> non-commercial flag.
    """

    config: PortraitConfig
    standardiser: Standardiser
    grid_months: tuple[float, ...]
    baselines: dict[str, tuple[float, ...]]
    reference_cohort: dict[str, str]
    validation: dict[str, dict[str, Any]] = field(default_factory=dict)
    licences: dict[str, bool] = field(default_factory=dict)


class PortraitModel:
    """A trained portrait model: encodes portraits and returns risks and survival curves."""

    def __init__(self, bundle: PortraitBundle, net: PortraitNet) -> None:
        self.bundle = bundle
        self.net = net

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
        types = [p.cancer_type or "" for p in portraits]
        unknown = sorted({t for t in types if t not in self.bundle.reference_cohort})
        if unknown:
            raise ValueError(f"cancer types not covered by the portrait model: {unknown}")
        risk = self.risk(encode(portraits), types)
        return self.survival(risk, [self.bundle.reference_cohort[t] for t in types])


def bundle_to_checkpoint(bundle: PortraitBundle, net: PortraitNet) -> dict[str, Any]:
    """A weights-only checkpoint dictionary (tensors, strings, numbers, lists, dicts)."""
    meta = asdict(bundle)
    return {"format": "oncoboard-portrait/1", "meta": meta, "state": net.state_dict()}


def model_from_checkpoint(path: Path, *, expected_sha256: str | None) -> PortraitModel:
    """Load a checkpoint saved by :func:`bundle_to_checkpoint`, checking its pinned hash."""
    raw = load_checkpoint(path, expected_sha256=expected_sha256)
    if raw.get("format") != "oncoboard-portrait/1":
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
    return PortraitModel(bundle, net)


SHIPPED_PATH = Path(__file__).resolve().parents[1] / "weights" / "portrait" / "portrait.pt"
#: Trained without the non-commercial cohorts (for deployments that must avoid them).
COMMERCIAL_PATH = SHIPPED_PATH.with_name("portrait-commercial.pt")
#: Pinned digests of the committed checkpoints (updated by whoever retrains and commits them).
SHIPPED_SHA256 = "b5d6ef77c2338fe4cd1e9ec3a211f8669e0625329ff2c58c7527c8fa8d2a29ae"
COMMERCIAL_SHA256 = "faa71c7889f6a9c47861712f6fae2ce783faf38d9d9b0ce3f5c19bab8e0877e4"


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
