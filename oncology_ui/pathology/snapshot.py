"""Slides as model input: references in the snapshot, tile features loaded only when run.

The snapshot stores, per ready slide, the features file's path relative to ``MEDIA_ROOT``, its
sha256 and the encoder that made it (never pixels); :func:`slides_to_inputs` loads the file and
refuses one whose hash changed since the snapshot, so a run is reproducible or visibly partial.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from inference.schema import SlideFeatures
from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case

logger = logging.getLogger(__name__)


def slides_snapshot(case: Case) -> list[dict[str, Any]] | None:
    """JSON references to the case's ready slides; ``None`` when there are none."""
    slides = Slide.objects.filter(case=case, status=Slide.Status.READY).order_by("pk")
    entries = [
        {
            "slide_id": str(slide.pk),
            "features_path": slide.features_path,
            "features_sha256": slide.features_sha256,
            "encoder_name": slide.encoder_name,
            "encoder_version": slide.encoder_version,
            "tile_count": slide.tile_count,
            "tissue_area_mm2": slide.tissue_area_mm2,
            "qc_state": slide.qc_state,
            "qc_flags": list(slide.qc_flags),
            "mpp": slide.mpp,
            "stain_guess": slide.stain_guess,
        }
        for slide in slides
        if slide.features_path and slide.tile_count
    ]
    return entries or None


def slides_to_inputs(entries: list[dict[str, Any]]) -> tuple[SlideFeatures, ...]:
    """Load the referenced features files into the model's slide inputs.

    A file that is missing, unreadable or no longer matches its recorded hash is left out (and
    logged); the prediction then lists the slide modality as missing instead of using other data.
    """
    from inference.slides.features import FeaturesFileError, load_tile_features
    from oncology_ui.pathology.services import media_path

    out = []
    for entry in entries:
        try:
            path = media_path(str(entry["features_path"]))
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != entry["features_sha256"]:
                raise FeaturesFileError("the features file changed since the snapshot")
            features = load_tile_features(path)
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("slide %s left out of the model input: %s", entry.get("slide_id"), exc)
            continue
        out.append(
            SlideFeatures(
                slide_id=str(entry["slide_id"]),
                tile_features=features.features,
                tile_coordinates=features.coords,
            )
        )
    return tuple(out)
