"""Reads of the pathology app: the case's slides and where a heatmap's scores come from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case

#: Per-tile features offered as heatmaps first (nuclear density is what pathologists ask for).
PREFERRED_FEATURES = ("nuclei_per_mm2", "nuclear_area_fraction", "hematoxylin_od_mean")

FEATURE_LABELS = {
    "nuclei_per_mm2": "Nuclear density (nuclei per mm²)",
    "nuclear_area_fraction": "Nuclear area fraction",
    "nuclear_area_mean_um2": "Mean nuclear area (µm²)",
    "hematoxylin_od_mean": "Hematoxylin intensity",
    "eosin_od_mean": "Eosin intensity",
    "tissue_fraction": "Tissue fraction of the tile",
    "texture_entropy": "Texture entropy",
}


def slides_for_case(case: Case) -> list[Slide]:
    """The case's slides that are not retired, with their jobs (one query)."""
    return list(Slide.objects.filter(case=case).shown().select_related("job"))


def feature_label(name: str) -> str:
    return FEATURE_LABELS.get(name, name.replace("_", " ").capitalize())


def heatmap_features(slide: Slide) -> list[dict[str, str]]:
    """Per-tile features a heatmap can show, preferred ones first."""
    names = [entry["name"] for entry in slide.feature_summary]
    ordered = [n for n in PREFERRED_FEATURES if n in names] + [
        n for n in names if n not in PREFERRED_FEATURES
    ]
    return [{"name": n, "label": feature_label(n)} for n in ordered]


@dataclass(frozen=True)
class AttentionSource:
    """The model's tile attention for a slide, or why there is none.

    Attributes:
        prediction_id: the prediction whose attention is shown; ``None`` when there is none.
        coords: level-0 tile coordinates.
        weights: attention per tile (sums to 1).
        reason: for a person, why attention is unavailable (empty when it is available).
        model: model name and version of the prediction looked at.
    """

    prediction_id: int | None
    coords: tuple[tuple[int, int], ...]
    weights: tuple[float, ...]
    reason: str
    model: str


def slide_attention(slide: Slide) -> AttentionSource:
    """Tile attention of the latest prediction of the slide's case for this slide.

    Read through the case's reverse relation: the analysis app sits above this one.
    """
    prediction = (
        slide.case.predictions.order_by("-created_at", "-id")
        .only(
            "id",
            "model_name",
            "model_version",
            "explanation",
            "untrained_modalities",
            "inputs_ignored",
            "covariates_used",
        )
        .first()
    )
    if prediction is None:
        return AttentionSource(
            None, (), (), "No analysis has been run for this case yet.", model=""
        )
    model = f"{prediction.model_name} {prediction.model_version}"
    explanation: dict[str, Any] = prediction.explanation or {}
    for entry in explanation.get("tile_attention") or ():
        if str(entry.get("slide_id")) == str(slide.pk):
            coords = tuple((int(x), int(y)) for x, y in entry.get("tile_coordinates", ()))
            weights = tuple(float(w) for w in entry.get("weights", ()))
            if coords and len(coords) == len(weights):
                return AttentionSource(prediction.pk, coords, weights, "", model)
    if prediction.covariates_used:
        reason = (
            f"The prognosis model of this case ({model}) reads clinical facts only (stage, "
            "grade, nodes, receptors, labs), so it has no slide attention to show. The heatmaps "
            "below come from measured tile features instead."
        )
    elif "slide" in (prediction.untrained_modalities or []):
        reason = (
            f"The model ({model}) has a slide branch that was never trained on outcomes, so it "
            "leaves slides out of its prediction and has no attention to show. The heatmaps "
            "below come from measured tile features instead."
        )
    else:
        reason = (
            f"The latest prediction ({model}) did not use this slide (it was not ready when the "
            "analysis ran, or its features do not fit the model). Re-run the analysis."
        )
    return AttentionSource(None, (), (), reason, model)
