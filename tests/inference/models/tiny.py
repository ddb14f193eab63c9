"""A tiny model config and random inputs covering every modality, shared by the inference tests."""

from __future__ import annotations

import numpy as np

from inference.models.batch import ModalityBatch
from inference.models.config import (
    ExpressionSpec,
    ModelConfig,
    PathwayGroup,
    SlideSpec,
    default_imaging_spec,
    identity_spec,
)
from inference.tabular.features import RawArrays, batch_from_arrays

GENES = ("TP53", "MKI67", "ESR1", "ERBB2", "EGFR", "PTEN")


def tiny_config(**overrides: object) -> ModelConfig:
    """Every modality configured, small widths."""
    settings: dict[str, object] = {
        "name": "tiny",
        "time_edges": tuple(float(t) for t in range(0, 73, 6)),
        "dim": 16,
        "heads": 2,
        "clinical": identity_spec(("age", "is_female")),
        "cancer_types": ("IDC", "LUAD"),
        "labs": identity_spec(("ldh", "albumin", "crp")),
        "mutations": identity_spec(("TP53", "PTEN")),
        "copy_number": identity_spec(("ERBB2", "EGFR")),
        "expression": ExpressionSpec(
            features=identity_spec(GENES),
            groups=(
                PathwayGroup("proliferation", (0, 1)),
                PathwayGroup("signalling", (2, 3, 4, 5)),
            ),
        ),
        "slide": SlideSpec(feature_dim=8),
        "imaging": default_imaging_spec(),
        "treatments": ("chemotherapy", "radiotherapy"),
    }
    settings.update(overrides)
    return ModelConfig(**settings)  # type: ignore[arg-type]


def random_raw(config: ModelConfig, n: int, seed: int = 0) -> RawArrays:
    """Random inputs with some missing values, some empty slide/imaging sets."""
    rng = np.random.default_rng(seed)
    raw = RawArrays(n=n)
    for name, spec in config.tabular_specs().items():
        if spec is None:
            continue
        values = rng.normal(size=(n, len(spec.names)))
        values[rng.random(values.shape) < 0.2] = np.nan
        raw.tabular[name] = values
    raw.cancer_type = rng.integers(-1, len(config.cancer_types), size=n)
    assert config.slide is not None and config.imaging is not None
    raw.tiles = [
        rng.normal(size=(int(rng.integers(1, 6)), config.slide.feature_dim)).astype(np.float32)
        if i % 3
        else None
        for i in range(n)
    ]
    raw.lesions = [
        np.abs(rng.normal(size=(int(rng.integers(1, 4)), len(config.imaging.lesion.names))))
        if i % 2
        else None
        for i in range(n)
    ]
    raw.study = np.abs(rng.normal(size=(n, len(config.imaging.study.names))))
    raw.treatment = rng.integers(0, 2, size=(n, len(config.treatments))).astype(np.float64)
    return raw


def random_batch(config: ModelConfig, n: int, seed: int = 0) -> ModalityBatch:
    """A random batch in which every modality is present for most cases."""
    return batch_from_arrays(config, random_raw(config, n, seed))
