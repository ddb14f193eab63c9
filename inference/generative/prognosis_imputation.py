"""Prognosis under multiple imputation: the survival model scores every imputed profile.

The survival model is the shipped pan-cancer fusion model (``inference.load_model()``,
``oncoboard-tcga-pancancer``): it reads age, sex, OncoTree code, mutations, copy number and RNA
z-scores of the same PORPOISE tables the generative model learnt, each modality optional. A case
with a modality missing is completed by the generative model ``n_samples`` times; the survival
model scores each completed profile with each of its ensemble members, and the curves are pooled
(multiple imputation): the curve is their mean, the band their central 80% (10th to 90th
percentile at each time). With every modality measured the band is the spread of the ensemble
members alone, so an imputed modality widens the band by exactly the spread the imputation adds.

The time interval ("how long, 80%") is read off the pooled curve and widened by the survival
model's own conformal correction, as for a measured case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from inference.generative.data import MODALITIES
from inference.survival import conformal
from inference.survival.curves import survival_at_months

if TYPE_CHECKING:
    from inference.generative.model import GenerativeModel
    from inference.generative.profile import TumourObservation
    from inference.predictor import SurvivalPredictor
    from inference.tabular.features import RawArrays

FloatArray = npt.NDArray[np.float64]
BAND_LEVEL = 0.8
REFERENCE_MONTHS = 36.0
DEFAULT_SAMPLES = 30
#: Generative modality -> the survival model's name for it.
SURVIVAL_MODALITY = {
    "clinical": "clinical",
    "mutation": "mutations",
    "cnv": "copy_number",
    "rna": "expression",
}


@dataclass(frozen=True)
class PooledCurves:
    """Pooled curves of N cases on the survival model's grid.

    Attributes:
        grid: (G,) months.
        survival: (N, G) mean over every curve pooled.
        lower, upper: (N, G) central ``level`` band over the pooled curves.
        n_curves: how many curves were pooled per case (members x imputed profiles).
    """

    grid: FloatArray
    survival: FloatArray
    lower: FloatArray
    upper: FloatArray
    n_curves: int


@dataclass(frozen=True)
class PrognosisUnderImputation:
    """One case's survival curve with its band, pooled over imputed profiles.

    Attributes:
        survival_model: name/version of the survival model.
        generative_model: version of the generative model that imputed (``""`` if nothing was).
        grid, survival, lower, upper: the curve and its 80% band (months; probabilities).
        survival_3y, lower_3y, upper_3y: the same at 36 months.
        interval_months: calibrated 80% interval of the survival time (upper may be inf), or
            ``None`` where the survival model has no calibration.
        measured: modalities given for the case; imputed: modalities the generative model drew.
        n_samples: imputed profiles scored (0 when nothing was imputed); seed: their seed.
        band: how the band was made, in words.
        research_use: the label every generative output carries.
    """

    survival_model: str
    generative_model: str
    grid: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    survival_3y: float | None
    lower_3y: float | None
    upper_3y: float | None
    interval_months: tuple[float, float] | None
    measured: tuple[str, ...]
    imputed: tuple[str, ...]
    n_samples: int
    seed: int
    band: str
    research_use: str


@lru_cache(maxsize=32)
def _column_map(
    wanted: tuple[str, ...], given: tuple[str, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Positions in ``wanted`` and in ``given`` of the names both hold (case-insensitive)."""
    index = {str(g).upper(): j for j, g in enumerate(given)}
    pairs = [(i, index[w.upper()]) for i, w in enumerate(wanted) if w.upper() in index]
    return tuple(i for i, _ in pairs), tuple(j for _, j in pairs)


def survival_inputs(
    predictor: SurvivalPredictor,
    values: Mapping[str, FloatArray],
    names: Mapping[str, Sequence[str]],
    oncotree_codes: Sequence[str],
) -> RawArrays:
    """The survival model's raw inputs from generative-model arrays.

    Args:
        predictor: the survival model.
        values: generative modality -> (N, d) on the table's scale, NaN = not measured; an
            absent modality is missing for every case.
        names: generative modality -> feature names (gene symbols; age, is_female).
        oncotree_codes: (N,) OncoTree code per case (unknown codes read as unknown type).

    Returns:
        Raw arrays in the survival model's feature order.
    """
    from inference.tabular.features import RawArrays

    n = len(oncotree_codes)
    raw = RawArrays(n=n)
    feature_names = predictor.info.feature_names
    for modality, target in SURVIVAL_MODALITY.items():
        wanted = feature_names.get(target)
        if wanted is None:
            continue
        out = np.full((n, len(wanted)), np.nan)
        if modality in values:
            to, source = _column_map(tuple(wanted), tuple(names[modality]))
            if to:
                out[:, list(to)] = np.asarray(values[modality], dtype=np.float64)[:, list(source)]
        raw.tabular[target] = out
    codes = {code: i for i, code in enumerate(predictor.config.cancer_types)}
    raw.cancer_type = np.array([codes.get(str(c).upper(), -1) for c in oncotree_codes])
    return raw


def member_curves(
    predictor: SurvivalPredictor,
    values: Mapping[str, FloatArray],
    names: Mapping[str, Sequence[str]],
    oncotree_codes: Sequence[str],
) -> FloatArray:
    """(E, N, G) survival curves of every ensemble member (untrained branches left out)."""
    import torch

    from inference.tabular.features import batch_from_arrays

    batch = batch_from_arrays(
        predictor.config, survival_inputs(predictor, values, names, oncotree_codes)
    )
    with torch.inference_mode():
        curves, _, _ = predictor._curves(batch)
    return curves.numpy().astype(np.float64)


def imputed_curves(
    predictor: SurvivalPredictor,
    observed: Mapping[str, FloatArray],
    samples: Mapping[str, FloatArray],
    names: Mapping[str, Sequence[str]],
    oncotree_codes: Sequence[str],
) -> FloatArray:
    """(S * E, N, G) member curves of every imputed profile.

    Args:
        observed: generative modality -> (N, d) as measured (NaN = not measured).
        samples: generative modality -> (S, N, d) imputed draws (observed entries unchanged);
            each replaces the observed matrix of its modality.
    """
    n_samples = min(s.shape[0] for s in samples.values())
    curves = []
    for s in range(n_samples):
        completed = dict(observed)
        completed.update({m: draws[s] for m, draws in samples.items()})
        curves.append(member_curves(predictor, completed, names, oncotree_codes))
    return np.concatenate(curves, axis=0)


def pool(grid: FloatArray, curves: FloatArray, level: float = BAND_LEVEL) -> PooledCurves:
    """Mean and central ``level`` band of (K, N, G) curves."""
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(curves, [tail, 1.0 - tail], axis=0)
    return PooledCurves(grid, curves.mean(0), lower, upper, int(curves.shape[0]))


def calibrated_intervals(predictor: SurvivalPredictor, pooled: PooledCurves) -> FloatArray | None:
    """(N, 2) 80% time intervals of the pooled curves with the survival model's conformal
    widening, ``None`` without a calibration."""
    calibration = predictor.calibration
    if calibration is None:
        return None
    raw = conformal.model_intervals(pooled.grid, pooled.survival, calibration.alpha)
    return conformal.apply(raw, calibration)


def prognosis_case(
    predictor: SurvivalPredictor,
    generative: GenerativeModel,
    observation: TumourObservation,
    *,
    n_samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> PrognosisUnderImputation:
    """A case's survival curve, imputing what it lacks and pooling over the imputations.

    Args:
        predictor: the survival model (``inference.load_model()``).
        generative: the generative model (``load_generative()``).
        observation: what is known of the tumour.
        n_samples: imputed profiles to score.
        seed: seeds the imputation (same seed, same curve).

    Returns:
        The pooled prognosis, naming measured and imputed modalities.

    Raises:
        inference.generative.model.UntrainedTypeError: a cancer type the generative model was
            not trained on.
    """
    from inference.generative.profile import RESEARCH_USE, observation_arrays

    arrays, _, _ = observation_arrays(generative, observation)
    measured = tuple(m for m in MODALITIES if np.isfinite(arrays[m]).any())
    lacking = tuple(m for m in MODALITIES if m not in measured and m in SURVIVAL_MODALITY)
    observed = {m: arrays[m] for m in measured}
    codes = [observation.cancer_type]
    members = len(predictor.members)
    if lacking:
        drawn = generative.impute(observed, codes, n_samples, seed, only=lacking)
        curves = imputed_curves(predictor, observed, drawn, generative.names, codes)
        band = (
            f"central {BAND_LEVEL:.0%} of {members} ensemble members x {n_samples} imputed "
            f"profiles ({', '.join(lacking)} imputed)"
        )
    else:
        curves = member_curves(predictor, observed, generative.names, codes)
        band = f"central {BAND_LEVEL:.0%} of {members} ensemble members (all measured)"
    pooled = pool(predictor.grid, curves)
    intervals = calibrated_intervals(predictor, pooled)
    grid = pooled.grid

    def at(curve: FloatArray) -> float | None:
        return survival_at_months(grid, curve, REFERENCE_MONTHS)

    return PrognosisUnderImputation(
        survival_model=f"{predictor.info.name} {predictor.info.version}".strip(),
        generative_model=generative.version if lacking else "",
        grid=tuple(float(t) for t in grid),
        survival=tuple(float(v) for v in pooled.survival[0]),
        lower=tuple(float(v) for v in pooled.lower[0]),
        upper=tuple(float(v) for v in pooled.upper[0]),
        survival_3y=at(pooled.survival[0]),
        lower_3y=at(pooled.lower[0]),
        upper_3y=at(pooled.upper[0]),
        interval_months=(
            None if intervals is None else (float(intervals[0, 0]), float(intervals[0, 1]))
        ),
        measured=measured,
        imputed=lacking,
        n_samples=n_samples if lacking else 0,
        seed=seed,
        band=band,
        research_use=RESEARCH_USE,
    )
