"""Named measurements -> standardised tensors with missing masks, alike in training and serving.

Training code hands raw arrays (NaN = missing) to :func:`batch_from_arrays`; the serving path turns
:class:`~inference.schema.CaseInputs` into the same arrays with :func:`arrays_from_cases` first, so
both go through one standardisation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

from inference.models.batch import ModalityBatch, SetBatch, TabularBatch
from inference.models.config import ImagingSpec, ModelConfig, SlideSpec, TabularSpec
from inference.schema import MODALITIES, CaseInputs, Measurements

FloatArray = npt.NDArray[np.float64]


@dataclass
class RawArrays:
    """Raw (untransformed) inputs of N cases; NaN = not measured.

    Attributes:
        tabular: modality name -> (N, F) array in the config's feature order, for clinical, labs,
            mutations, copy_number and expression.
        cancer_type: (N,) index into ``ModelConfig.cancer_types``, -1 unknown.
        tiles: per case an (n_tiles, F) array, or ``None`` without slides.
        lesions: per case an (n_lesions, F) array, or ``None`` without imaging.
        study: (N, F) imaging study measurements.
        treatment: (N, T) 0/1 with NaN for unknown.
        imaging_present: (N,) whether the case has imaging.
    """

    n: int
    tabular: dict[str, FloatArray] = field(default_factory=dict)
    cancer_type: npt.NDArray[np.int64] | None = None
    tiles: list[npt.NDArray[np.float32] | None] | None = None
    lesions: list[FloatArray | None] | None = None
    study: FloatArray | None = None
    treatment: FloatArray | None = None


def _signed_log1p(values: FloatArray) -> FloatArray:
    return np.sign(values) * np.log1p(np.abs(values))


def standardise(spec: TabularSpec, raw: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Apply the spec's transform and standardisation.

    Args:
        spec: names, log1p set, means and stds.
        raw: (N, F) raw values, NaN = missing.

    Returns:
        Standardised values with missing set to 0, and the (N, F) missing mask as 0/1.
    """
    values = np.array(raw, dtype=np.float64, copy=True)
    if spec.log1p:
        columns = [i for i, name in enumerate(spec.names) if name in set(spec.log1p)]
        values[:, columns] = _signed_log1p(values[:, columns])
    missing = ~np.isfinite(values)
    values = (values - np.asarray(spec.means)) / np.asarray(spec.stds)
    values[missing] = 0.0
    return values, missing.astype(np.float64)


def fit_spec(names: Sequence[str], raw: FloatArray, *, log1p: Sequence[str] = ()) -> TabularSpec:
    """Learn the standardisation of a modality on training rows.

    Args:
        names: feature names.
        raw: (N, F) training values, NaN = missing.
        log1p: names to transform with a signed log1p first.

    Returns:
        The spec.
    """
    values = np.array(raw, dtype=np.float64, copy=True)
    columns = [i for i, name in enumerate(names) if name in set(log1p)]
    values[:, columns] = _signed_log1p(values[:, columns])
    with np.errstate(all="ignore"):
        means = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=0)
        stds = np.nanstd(np.where(np.isfinite(values), values, np.nan), axis=0)
    means = np.nan_to_num(means, nan=0.0)
    stds = np.where(np.isfinite(stds) & (stds > 1e-8), stds, 1.0)
    return TabularSpec(
        names=tuple(names),
        means=tuple(float(v) for v in means),
        stds=tuple(float(v) for v in stds),
        log1p=tuple(name for name in names if name in set(log1p)),
    )


def _tabular(spec: TabularSpec, raw: FloatArray) -> tuple[TabularBatch, torch.Tensor]:
    values, missing = standardise(spec, raw)
    batch = TabularBatch(
        values=torch.as_tensor(values, dtype=torch.float32),
        missing=torch.as_tensor(missing, dtype=torch.bool),
    )
    present = (
        torch.as_tensor(missing.sum(axis=1) < missing.shape[1])
        if missing.shape[1]
        else (torch.zeros(missing.shape[0], dtype=torch.bool))
    )
    return batch, present


def _pad_sets(
    sets: list[npt.NDArray[np.floating] | None], width: int, transform: TabularSpec | None = None
) -> tuple[SetBatch, torch.Tensor]:
    longest = max([len(s) for s in sets if s is not None] + [1])
    items = np.zeros((len(sets), longest, width), dtype=np.float32)
    mask = np.zeros((len(sets), longest), dtype=bool)
    for row, entries in enumerate(sets):
        if entries is None or len(entries) == 0:
            continue
        values = np.asarray(entries, dtype=np.float64)
        if transform is not None:
            values, _ = standardise(transform, values)
        items[row, : len(values)] = values
        mask[row, : len(values)] = True
    return SetBatch(torch.from_numpy(items), torch.from_numpy(mask)), torch.from_numpy(
        mask.any(axis=1)
    )


def batch_from_arrays(config: ModelConfig, raw: RawArrays) -> ModalityBatch:
    """Build the model input from raw arrays.

    Args:
        config: the model config (feature order and standardisation).
        raw: raw arrays of N cases.

    Returns:
        The batch with its presence mask.
    """
    present = torch.zeros(raw.n, len(MODALITIES), dtype=torch.bool)
    tabular: dict[str, TabularBatch] = {}
    for name in ("clinical", "labs", "mutations", "copy_number"):
        spec = getattr(config, name)
        if spec is not None and name in raw.tabular:
            tabular[name], present[:, MODALITIES.index(name)] = _tabular(spec, raw.tabular[name])
    expression = None
    if config.expression is not None and "expression" in raw.tabular:
        expression, present[:, MODALITIES.index("expression")] = _tabular(
            config.expression.features, raw.tabular["expression"]
        )
    tiles = None
    if config.slide is not None and raw.tiles is not None:
        tiles, present[:, MODALITIES.index("slide")] = _pad_sets(
            list(raw.tiles), config.slide.feature_dim
        )
    lesions = study = None
    if config.imaging is not None and raw.lesions is not None and raw.study is not None:
        lesions, lesions_present = _pad_sets(
            list(raw.lesions), len(config.imaging.lesion.names), config.imaging.lesion
        )
        study, study_present = _tabular(config.imaging.study, raw.study)
        present[:, MODALITIES.index("imaging")] = lesions_present | study_present
    cancer_type = None
    if raw.cancer_type is not None:
        cancer_type = torch.as_tensor(raw.cancer_type, dtype=torch.long)
    treatment = treatment_known = None
    if config.treatments and raw.treatment is not None:
        known = np.isfinite(raw.treatment)
        treatment = torch.as_tensor(np.where(known, raw.treatment, 0.0), dtype=torch.float32)
        treatment_known = torch.as_tensor(known, dtype=torch.bool)
    return ModalityBatch(
        present=present,
        clinical=tabular.get("clinical"),
        cancer_type=cancer_type,
        labs=tabular.get("labs"),
        mutations=tabular.get("mutations"),
        copy_number=tabular.get("copy_number"),
        expression=expression,
        tiles=tiles,
        lesions=lesions,
        study=study,
        treatment=treatment,
        treatment_known=treatment_known,
    )


def _value(raw: float | None) -> float:
    if raw is None:
        return math.nan
    return float(raw)


def _row(names: Sequence[str], values: Measurements, prefix: str, ignored: list[str]) -> FloatArray:
    known = set(names)
    ignored.extend(f"{prefix}:{name}" for name in values if name not in known)
    return np.array([_value(values.get(name)) for name in names], dtype=np.float64)


def arrays_from_cases(
    config: ModelConfig, cases: Sequence[CaseInputs]
) -> tuple[RawArrays, list[list[str]]]:
    """Turn case inputs into raw arrays in the config's feature order.

    Args:
        config: the model config.
        cases: the cases.

    Returns:
        The arrays and, per case, the supplied names the model does not know.
    """
    n = len(cases)
    raw = RawArrays(n=n)
    ignored: list[list[str]] = [[] for _ in cases]
    for name, spec in config.tabular_specs().items():
        if spec is None:
            continue
        rows = []
        for i, case in enumerate(cases):
            values: Mapping[str, float | None] = {}
            if name == "clinical" and case.clinical is not None:
                values = case.clinical.values
            elif name == "labs" and case.labs is not None:
                values = case.labs.values
            elif name in ("mutations", "copy_number", "expression") and case.molecular:
                values = getattr(case.molecular, name)
            rows.append(_row(spec.names, values, name, ignored[i]))
        raw.tabular[name] = np.stack(rows) if rows else np.zeros((0, len(spec.names)))
    codes = {code: index for index, code in enumerate(config.cancer_types)}
    raw.cancer_type = np.array(
        [
            codes.get(case.clinical.cancer_type, -1)
            if case.clinical is not None and case.clinical.cancer_type
            else -1
            for case in cases
        ],
        dtype=np.int64,
    )
    for i, case in enumerate(cases):
        code = case.clinical.cancer_type if case.clinical else None
        if code and code not in codes:
            ignored[i].append(f"cancer_type:{code}")
    if config.slide is not None:
        _fill_slides(raw, config.slide, cases, ignored)
    if config.imaging is not None:
        _fill_imaging(raw, config.imaging, cases, ignored)
    if config.treatments:
        _fill_treatments(raw, config.treatments, cases, ignored)
    return raw, ignored


def _fill_slides(
    raw: RawArrays, spec: SlideSpec, cases: Sequence[CaseInputs], ignored: list[list[str]]
) -> None:
    """Each case's tile features, its slides of another feature size listed as ignored."""
    raw.tiles = []
    for i, case in enumerate(cases):
        usable = [s for s in case.slides if s.tile_features.shape[-1] == spec.feature_dim]
        ignored[i].extend(f"slide:{s.slide_id}" for s in case.slides if s not in usable)
        raw.tiles.append(
            np.concatenate([s.tile_features for s in usable]).astype(np.float32) if usable else None
        )


def _fill_imaging(
    raw: RawArrays, spec: ImagingSpec, cases: Sequence[CaseInputs], ignored: list[list[str]]
) -> None:
    """Each case's lesion rows and study-level measurements."""
    raw.lesions = []
    study_rows = []
    for i, case in enumerate(cases):
        imaging = case.imaging
        lesion_names = spec.lesion.names
        if imaging is not None and imaging.lesions:
            raw.lesions.append(
                np.stack(
                    [_row(lesion_names, les, "imaging", ignored[i]) for les in imaging.lesions]
                )
            )
        else:
            raw.lesions.append(None)
        study_values: Measurements = imaging.study if imaging is not None else {}
        study_rows.append(_row(spec.study.names, study_values, "imaging", ignored[i]))
    raw.study = np.stack(study_rows)


def _fill_treatments(
    raw: RawArrays,
    treatments: Sequence[str],
    cases: Sequence[CaseInputs],
    ignored: list[list[str]],
) -> None:
    """Each case's treatment inputs (NaN when unknown); therapies the model lacks are ignored."""
    raw.treatment = np.array(
        [
            [
                float(case.treatment.therapies[name])
                if case.treatment is not None and name in case.treatment.therapies
                else math.nan
                for name in treatments
            ]
            for case in cases
        ],
        dtype=np.float64,
    )
    for i, case in enumerate(cases):
        if case.treatment is not None:
            ignored[i].extend(
                f"treatment:{name}" for name in case.treatment.therapies if name not in treatments
            )
