"""The whole slide analysis in one call, for the ingest job.

The job is: :func:`~inference.slides.inspect.inspect_slide` on the upload (sandboxed),
:func:`~inference.slides.deid.deidentify_slide` (sandboxed) to make the derivative, then
:func:`process_slide` on the derivative. The upload itself is never analysed or served.
"""

from __future__ import annotations

import logging
from pathlib import Path

from inference.slides.encoders import MorphologyEncoder, TileEncoder
from inference.slides.features import extract_tile_features, save_tile_features, summarize_features
from inference.slides.qc import assess_quality
from inference.slides.reader import open_slide
from inference.slides.schema import SlideLimits, SlideSummary
from inference.slides.tiles import DEFAULT_TARGET_MPP, ProgressCallback, plan_tile_grid
from inference.slides.tissue import detect_tissue

logger = logging.getLogger(__name__)


def process_slide(
    path: str | Path,
    features_path: str | Path,
    *,
    encoder: TileEncoder | None = None,
    limits: SlideLimits | None = None,
    target_mpp: float = DEFAULT_TARGET_MPP,
    tile_size: int = 256,
    min_tissue_fraction: float = 0.5,
    batch_size: int = 64,
    progress: ProgressCallback | None = None,
) -> SlideSummary:
    """Tissue detection, tile grid, quality control and per-tile features of one slide.

    Args:
        path: the de-identified slide (see :func:`inference.slides.deid.deidentify_slide`).
        features_path: where to write the per-tile features (``.npz``).
        encoder: tile encoder; default the weight-free :class:`MorphologyEncoder`.
        limits: read limits.
        target_mpp: microns per pixel of the tiles (0.5 = 20x).
        tile_size: tile side in pixels.
        min_tissue_fraction: least tissue share of a kept tile.
        batch_size: tiles per encoder batch.
        progress: called with ``(tiles_done, tiles_total)`` while features are extracted.

    Returns:
        The slide summary for the model and the case page.
    """
    tile_encoder: TileEncoder = encoder or MorphologyEncoder()
    with open_slide(path, limits) as reader:
        tissue = detect_tissue(reader)
        grid = plan_tile_grid(
            reader,
            tissue,
            target_mpp=target_mpp,
            tile_size=tile_size,
            min_tissue_fraction=min_tissue_fraction,
        )
        qc = assess_quality(reader, tissue, grid)
        features = extract_tile_features(
            reader, grid, tile_encoder, batch_size=batch_size, progress=progress
        )
        info = reader.info
    stored = save_tile_features(features, features_path)
    stats, mean = summarize_features(features)
    logger.info("slide processed: %d tiles, QC %s", len(grid), qc.state)
    return SlideSummary(
        tissue_area_mm2=tissue.tissue_area_mm2,
        tile_count=len(grid),
        qc=qc,
        encoder_name=features.encoder_name,
        encoder_version=features.encoder_version,
        features_path=stored,
        feature_stats=stats,
        mean_embedding=mean,
        mpp=info.mpp_x,
        target_mpp=grid.target_mpp,
        width=info.width,
        height=info.height,
    )
