"""Configuration dataclasses of the multimodal survival model, stored inside every checkpoint.

A config carries everything needed to turn named measurements into tensors (feature names, the
standardisation learned on the training split, pathway groups) so a checkpoint is self-contained.
``to_dict``/``from_dict`` use only plain containers, which
``torch.load(weights_only=True)`` accepts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_SLIDE_FEATURE_DIM = 1024
DEFAULT_LESION_FEATURES: tuple[str, ...] = (
    "volume_ml",
    "longest_diameter_mm",
    "short_axis_mm",
    "mean_hu",
    "suv_max",
    "suv_mean",
    "sphericity",
)
DEFAULT_STUDY_FEATURES: tuple[str, ...] = (
    "lesion_count",
    "total_volume_ml",
    "total_lesion_glycolysis",
    "metabolic_tumor_volume_ml",
)


@dataclass(frozen=True)
class TabularSpec:
    """Named numeric features of one modality and their training-split standardisation.

    Attributes:
        names: feature names in tensor order.
        means: mean of each feature after the optional log transform.
        stds: standard deviation of each feature (never zero).
        log1p: names transformed with a signed ``log1p`` before standardising (skewed values).
    """

    names: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    log1p: tuple[str, ...] = ()


@dataclass(frozen=True)
class PathwayGroup:
    """A named group of expression features (indices into ``TabularSpec.names``)."""

    name: str
    members: tuple[int, ...]


@dataclass(frozen=True)
class ExpressionSpec:
    """Expression features and their pathway grouping."""

    features: TabularSpec
    groups: tuple[PathwayGroup, ...]


@dataclass(frozen=True)
class SlideSpec:
    """Tile feature dimension of the slide branch."""

    feature_dim: int = DEFAULT_SLIDE_FEATURE_DIM


@dataclass(frozen=True)
class ImagingSpec:
    """Lesion-level and study-level measurements of the imaging branch."""

    lesion: TabularSpec
    study: TabularSpec


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and feature vocabulary of the multimodal survival model.

    Attributes:
        name: model name in the registry.
        time_edges: bin edges in months, starting at 0; S(t) is reported at ``time_edges``.
        dim: token width.
        heads: attention heads in the fusion.
        fusion_layers: transformer blocks over modality tokens.
        dropout: dropout inside encoders and fusion (on only in training mode).
        modality_dropout: probability of hiding each present modality in training.
        clinical, labs, mutations, copy_number: tabular modalities (``None`` = not configured).
        cancer_types: OncoTree codes of the cancer-type embedding in the clinical encoder.
        expression: pathway-grouped expression modality.
        slide, imaging: branches that accept slides and imaging measurements.
        treatments: therapy names of the optional treatment input.
    """

    name: str
    time_edges: tuple[float, ...]
    dim: int = 32
    heads: int = 4
    fusion_layers: int = 1
    dropout: float = 0.1
    modality_dropout: float = 0.25
    clinical: TabularSpec | None = None
    cancer_types: tuple[str, ...] = ()
    labs: TabularSpec | None = None
    mutations: TabularSpec | None = None
    copy_number: TabularSpec | None = None
    expression: ExpressionSpec | None = None
    slide: SlideSpec | None = field(default_factory=SlideSpec)
    imaging: ImagingSpec | None = None
    treatments: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        """Number of discrete-time intervals."""
        return len(self.time_edges) - 1

    def tabular_specs(self) -> dict[str, TabularSpec | None]:
        """The feature spec of each tabular modality (expression: its gene features)."""
        return {
            "clinical": self.clinical,
            "labs": self.labs,
            "mutations": self.mutations,
            "copy_number": self.copy_number,
            "expression": self.expression.features if self.expression else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain-container form for the checkpoint."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict` output.

        Args:
            data: the dictionary stored in a checkpoint.

        Returns:
            The config.
        """

        def tabular(raw: dict[str, Any] | None) -> TabularSpec | None:
            if raw is None:
                return None
            return TabularSpec(
                names=tuple(raw["names"]),
                means=tuple(float(v) for v in raw["means"]),
                stds=tuple(float(v) for v in raw["stds"]),
                log1p=tuple(raw.get("log1p", ())),
            )

        expression = None
        if data.get("expression") is not None:
            raw = data["expression"]
            features = tabular(raw["features"])
            assert features is not None
            expression = ExpressionSpec(
                features=features,
                groups=tuple(
                    PathwayGroup(name=g["name"], members=tuple(int(i) for i in g["members"]))
                    for g in raw["groups"]
                ),
            )
        imaging = None
        if data.get("imaging") is not None:
            lesion = tabular(data["imaging"]["lesion"])
            study = tabular(data["imaging"]["study"])
            assert lesion is not None and study is not None
            imaging = ImagingSpec(lesion=lesion, study=study)
        slide = SlideSpec(**data["slide"]) if data.get("slide") is not None else None
        return cls(
            name=str(data["name"]),
            time_edges=tuple(float(t) for t in data["time_edges"]),
            dim=int(data["dim"]),
            heads=int(data["heads"]),
            fusion_layers=int(data["fusion_layers"]),
            dropout=float(data["dropout"]),
            modality_dropout=float(data["modality_dropout"]),
            clinical=tabular(data.get("clinical")),
            cancer_types=tuple(data.get("cancer_types", ())),
            labs=tabular(data.get("labs")),
            mutations=tabular(data.get("mutations")),
            copy_number=tabular(data.get("copy_number")),
            expression=expression,
            slide=slide,
            imaging=imaging,
            treatments=tuple(data.get("treatments", ())),
        )


def identity_spec(names: tuple[str, ...]) -> TabularSpec:
    """A spec with mean 0 and std 1, for features that arrive standardised (z-scores, 0/1 flags).

    Args:
        names: feature names.

    Returns:
        The spec.
    """
    return TabularSpec(names=names, means=(0.0,) * len(names), stds=(1.0,) * len(names))


def default_imaging_spec() -> ImagingSpec:
    """The imaging vocabulary used when no cohort provides imaging (untrained branch)."""
    # Volumes, SUV and counts are heavily skewed; a signed log1p keeps an untrained branch from
    # being swamped by a 500 ml lesion.
    lesion = identity_spec(DEFAULT_LESION_FEATURES)
    study = identity_spec(DEFAULT_STUDY_FEATURES)
    return ImagingSpec(
        lesion=TabularSpec(lesion.names, lesion.means, lesion.stds, log1p=lesion.names),
        study=TabularSpec(study.names, study.means, study.stds, log1p=study.names),
    )
