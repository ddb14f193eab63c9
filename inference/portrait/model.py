"""The portrait model: one survival model across cancer types on the clinical vocabulary.

Risk is additive over the vocabulary (so each covariate's contribution can be listed) plus an
optional small MLP for interactions::

    risk = sum_f [m_f (w_f z_f + sum_k h_fk relu(z_f - k) + D[type]_f z_f) + (1 - m_f) u_f]
           + mlp([z * m, m, type])

``z`` is the standardised feature, ``m`` its observed-mask (a missing feature contributes nothing:
it is masked, not filled), ``D[type]`` a type-specific deviation shrunk towards the shared weights,
and ``u_f`` a missingness offset (missing and measured patients differ). Stage-like features
(:data:`MONOTONE`) have non-negative total weights, so a higher stage never lowers risk. Survival is
``S0_cohort(t) ** exp(risk)`` with the Breslow baseline of one cohort of the case's type: the type's
reference cohort, unless the case's stage group is one that cohort hardly enrolled (see
:meth:`PortraitModel.baseline_cohort`); the loss is stratified by cohort, so every cohort has its
own baseline.

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

FORMAT = "oncoboard-portrait/3"
#: Format 1 had no bootstrap replicates; it still loads (without a band). Format 2 stored the
#: replicates' baseline hazards per cancer type (of its reference cohort); it loads with those
#: keyed by the reference cohort, and without stage counts (every case on the reference).
FORMATS = ("oncoboard-portrait/1", "oncoboard-portrait/2", FORMAT)

#: A cohort "has" a stage group when at least this many of its training patients had it ...
MIN_STAGE_PATIENTS = 20
#: ... or at least this share of its training rows.
MIN_STAGE_SHARE = 0.05
#: Separates a cohort from the stage group of a stage stratum in a baseline key
#: (``"tcga-coadread:stage-4"``: the Breslow baseline of that cohort's stage IV training patients).
STRATUM = ":stage-"


def stratum_key(cohort: str, stage_group: int) -> str:
    """Baseline key of one stage group of a cohort."""
    return f"{cohort}{STRATUM}{int(stage_group)}"


def cohort_of(key: str) -> str:
    """The cohort of a baseline key (a cohort name or a stage stratum of it)."""
    return key.split(STRATUM, 1)[0]


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
        baselines: baseline key -> (G,) Breslow cumulative baseline hazard; a key is a cohort
            (all its training rows) or :func:`stratum_key` of a cohort and stage group (its
            training patients with that stage group, stored where there are at least
            :data:`MIN_STAGE_PATIENTS`).
        reference_cohort: cancer type -> the cohort whose baseline a case of that type gets by
            default (no stage group known, or a stage group the cohort enrolled).
        validation: cancer type -> JSON-able facts for the page, from the test parts: cohorts,
            reference_cohort, test_n, test_events, horizon_months, harrell_c, coxph_c,
            calibration_slope, time_zero, time_zero_label, endpoint, non_commercial and
            conformal (nominal, measured_test, status and the correction in use).
        licences: cohort -> non-commercial flag.
        training_rows: cohort -> number of its training rows (its baseline's patients).
        stage_counts: cohort -> stage group ("0"-"4") -> training patients with that stage group
            (what :meth:`PortraitModel.baseline_cohort` reads).
        cohort_facts: cohort -> ``cancer_type`` and, for registered cohorts, ``time_zero``,
            ``time_zero_label`` and ``endpoint`` (what the page states for a curve on that
            cohort's baseline).
    """

    config: PortraitConfig
    standardiser: Standardiser
    grid_months: tuple[float, ...]
    baselines: dict[str, tuple[float, ...]]
    reference_cohort: dict[str, str]
    validation: dict[str, dict[str, Any]] = field(default_factory=dict)
    licences: dict[str, bool] = field(default_factory=dict)
    training_rows: dict[str, int] = field(default_factory=dict)
    stage_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    cohort_facts: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Replicates:
    """Bootstrap refits of the chosen configuration, for the survival band.

    Attributes:
        nets: B networks, each fitted on a bootstrap resample of the training parts (resampled
            within each cohort) with the main model's hyper-parameters and feature scaling.
        hazards: baseline key -> (B, G) Breslow cumulative baseline hazard of that cohort or stage
            stratum, each from its own replicate's resample and risks (every key of
            ``PortraitBundle.baselines``, so the band follows whichever baseline a case gets).
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

    def predict(
        self, portraits: list[ClinicalPortrait], cohorts: list[str] | None = None
    ) -> FloatArray:
        """(N, G) survival curves of portraits on ``grid_months``.

        Args:
            portraits: cases; each ``cancer_type`` must be one the model covers (the caller
                abstains otherwise).
            cohorts: the baseline of each portrait, a cohort or a stage stratum of one (for
                example :meth:`baseline`); default the reference cohort of each case's type.

        Raises:
            ValueError: an uncovered type, or a cohort of another type or unknown to the model.
        """
        types = self._covered_types(portraits)
        risk = self.risk(encode(portraits), types)
        return self.survival(risk, self._baseline_cohorts(types, cohorts))

    def _covered_types(self, portraits: list[ClinicalPortrait]) -> list[str]:
        types = [p.cancer_type or "" for p in portraits]
        unknown = sorted({t for t in types if t not in self.bundle.reference_cohort})
        if unknown:
            raise ValueError(f"cancer types not covered by the portrait model: {unknown}")
        return types

    def _baseline_cohorts(self, types: list[str], cohorts: list[str] | None) -> list[str]:
        if cohorts is None:
            return [self.bundle.reference_cohort[t] for t in types]
        if len(cohorts) != len(types):
            raise ValueError(f"{len(cohorts)} baseline cohorts for {len(types)} portraits")
        for cancer_type, cohort in zip(types, cohorts, strict=True):
            if cohort not in self.bundle.baselines:
                raise ValueError(f"no baseline for cohort {cohort!r}")
            facts = self.bundle.cohort_facts.get(cohort_of(cohort))
            if facts is not None and facts["cancer_type"] != cancer_type:
                raise ValueError(f"cohort {cohort!r} is not a {cancer_type} cohort")
        return list(cohorts)

    def cohorts_of(self, cancer_type: str) -> tuple[str, ...]:
        """The training cohorts of a type (just its reference for checkpoints without facts)."""
        own = sorted(
            c for c, f in self.bundle.cohort_facts.items() if f["cancer_type"] == cancer_type
        )
        return tuple(own) or (self.bundle.reference_cohort[cancer_type],)

    def baseline_cohort(self, portrait: ClinicalPortrait) -> str:
        """The cohort whose baseline the portrait's curve uses.

        Rule (counts from the training parts, stored in the checkpoint):

        1. No stage group known: the type's reference cohort.
        2. The reference cohort records no stage group at all (METABRIC): the reference cohort.
        3. The reference cohort's training rows hold the case's stage group (at least
           :data:`MIN_STAGE_PATIENTS` patients, or :data:`MIN_STAGE_SHARE` of its rows): the
           reference cohort.
        4. Otherwise the type's cohort with the most training patients at that stage group
           (ties: the reference, then by name); the reference if no cohort of the type has any.

        Why: a cohort's baseline is the survival of its own patients at risk 0. The risk moves it
        by the stage weight learnt where stage varied, which cannot turn a stage III adjuvant
        trial's baseline into what stage IV patients live (the trial never enrolled them); a
        cohort that enrolled them carries that in its baseline. A cohort without any recorded
        stage group did not exclude any stage, its stages are unknown (step 2): leaving it for
        another cohort would change the curve by the cohorts' difference, not the stage's (the
        demo breast case gained 5-year survival when stage III was added, METABRIC -> TCGA-BRCA).

        Raises:
            ValueError: the portrait's type is not covered.
        """
        (cancer_type,) = self._covered_types([portrait])
        reference = self.bundle.reference_cohort[cancer_type]
        stage = portrait.staging.stage_group
        if stage is None or not self.bundle.stage_counts.get(reference):
            return reference
        key = str(int(stage))

        def patients(cohort: str) -> int:
            return int(self.bundle.stage_counts.get(cohort, {}).get(key, 0))

        rows = self.bundle.training_rows.get(reference, 0)
        if patients(reference) >= MIN_STAGE_PATIENTS or (
            patients(reference) > 0 and patients(reference) >= MIN_STAGE_SHARE * rows
        ):
            return reference
        best = max(self.cohorts_of(cancer_type), key=lambda c: (patients(c), c == reference))
        return best if patients(best) > 0 else reference

    def baseline(self, portrait: ClinicalPortrait) -> str:
        """The baseline key the portrait's curve uses (what the predictor passes as ``cohorts``).

        The :meth:`baseline_cohort`'s stage stratum where the checkpoint holds one for the case's
        stage group (at least :data:`MIN_STAGE_PATIENTS` training patients of that cohort had
        it), else the whole cohort's baseline.

        Why the stratum: under proportional hazards the stage weight moves every cohort's curve
        by one hazard ratio, and the shared, ridge-penalised weight underfits some types (TCGA
        COADREAD: stage IV training patients 3-year Kaplan-Meier 0.43, predicted 0.73 on the
        whole cohort's baseline). The stratum's own baseline keeps the other covariates' effects
        and restores the stage group's level; on the validation parts it lowered the
        event-weighted calibration-in-the-large error over the 23 cohort-stage cells with a
        stratum from 0.045 to 0.039 (model card).
        """
        cohort = self.baseline_cohort(portrait)
        stage = portrait.staging.stage_group
        if stage is None:
            return cohort
        key = stratum_key(cohort, stage)
        return key if key in self.bundle.baselines else cohort

    def survival_band(
        self,
        portraits: list[ClinicalPortrait],
        level: float = 0.9,
        cohorts: list[str] | None = None,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Survival curves with their bootstrap band, on ``grid_months``.

        Args:
            portraits: cases of covered cancer types (as for :meth:`predict`).
            level: central share of the bootstrap replicates inside the band.
            cohorts: baseline cohort per portrait (as for :meth:`predict`); each replicate uses
                its own baseline of the same cohort.

        Returns:
            (mean, lower, upper), each (N, G): ``mean`` is the main model's curve (the same as
            :meth:`predict`), ``lower``/``upper`` the pointwise percentiles of the replicates'
            curves, widened where needed so that lower <= mean <= upper.

        Raises:
            ValueError: an uncovered cancer type, a checkpoint without replicates (format 1),
                or a baseline without replicate baselines.
        """
        if self.replicates is None or not self.replicates.nets:
            raise ValueError("this portrait checkpoint has no bootstrap replicates (no band)")
        types = self._covered_types(portraits)
        chosen = self._baseline_cohorts(types, cohorts)
        lacking = sorted({c for c in chosen if c not in self.replicates.hazards})
        if lacking:
            raise ValueError(f"no bootstrap baselines for {lacking}")
        mean = self.predict(portraits, chosen)
        tensors = self.tensors(encode(portraits), types)
        curves = []
        for b, net in enumerate(self.replicates.nets):
            with eval_mode(net):
                risk = net(*tensors).numpy().astype(np.float64)  # (N,)
            hazard = np.stack([self.replicates.hazards[c][b] for c in chosen])  # (N, G)
            curves.append(np.exp(-hazard * np.exp(risk)[:, None]))
        lower, upper = band(mean, np.stack(curves), level)  # stack: (B, N, G)
        return mean, lower, upper

    def time_interval(
        self, cancer_type: str, risk: float, cohort: str | None = None
    ) -> TimeInterval | None:
        """Conformal interval for the time to event of a case of ``cancer_type`` with ``risk``.

        The model interval is read off the case's curve at the nominal level and widened by the
        type's calibrated correction. The correction is per type: it was calibrated on the
        type's validation events, each scored on its own cohort's curve, so reading the interval
        off the curve of the case's baseline cohort is the calibrated use.

        Args:
            cancer_type: a covered portrait type.
            risk: the case's risk (:meth:`risk`).
            cohort: the case's baseline (:meth:`baseline`); default the type's reference
                cohort.

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
        (baseline,) = self._baseline_cohorts([cancer_type], None if cohort is None else [cohort])
        curve = self.survival(np.array([risk]), [baseline])
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
                c: torch.as_tensor(h, dtype=torch.float32) for c, h in replicates.hazards.items()
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
        training_rows={k: int(v) for k, v in meta.get("training_rows", {}).items()},
        stage_counts={
            k: {s: int(n) for s, n in v.items()} for k, v in meta.get("stage_counts", {}).items()
        },
        cohort_facts={k: dict(v) for k, v in meta.get("cohort_facts", {}).items()},
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
        hazards = {k: h.numpy().astype(np.float64) for k, h in raw["replicates"]["hazards"].items()}
        if raw["format"] == "oncoboard-portrait/2":  # keyed by type: its reference cohort's
            hazards = {bundle.reference_cohort[t]: h for t, h in hazards.items()}
        replicates = Replicates(tuple(nets), hazards)
    return PortraitModel(bundle, net.eval(), replicates)


SHIPPED_PATH = Path(__file__).resolve().parents[1] / "weights" / "portrait" / "portrait.pt"
#: Trained without the non-commercial cohorts (for deployments that must avoid them).
COMMERCIAL_PATH = SHIPPED_PATH.with_name("portrait-commercial.pt")
#: Pinned digests of the committed checkpoints (updated by whoever retrains and commits them).
SHIPPED_SHA256 = "ce7f3e0feacfdf8df742bc4b4ab244a3a9a50077624f01aa1bdff1b78f94c36d"
COMMERCIAL_SHA256 = "0411f9429e72b5dedeffd1bed2a68103acd7818a7546955696f1f8d8a2641f78"


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
