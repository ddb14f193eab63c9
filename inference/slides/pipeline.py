"""The whole slide analysis in one call, for the ingest job.

The job is: :func:`~inference.slides.inspect.inspect_slide` on the upload (sandboxed),
:func:`~inference.slides.deid.deidentify_slide` (sandboxed) to make the derivative, then
:func:`process_slide` on the derivative. The upload itself is never analysed or served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from inference.slides.encoders import MorphologyEncoder, TileEncoder
from inference.slides.features import extract_tile_features, save_tile_features, summarize_features
from inference.slides.qc import assess_quality
from inference.slides.reader import open_slide
from inference.slides.schema import SlideLimits, SlideSummary
from inference.slides.stain import StainGuess, guess_stain
from inference.slides.tiles import DEFAULT_TARGET_MPP, ProgressCallback, plan_tile_grid
from inference.slides.tissue import detect_tissue
from inference.slides.viewer import encode_png, thumbnail_png, tissue_outline

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


@dataclass(frozen=True)
class SlideOverview:
    """The pictures of a slide the case page and the viewer show next to its tiles.

    Attributes:
        thumbnail_png: the thumbnail (longest side ``max_side``).
        tissue_outline_png: RGBA outline of the tissue mask, to lay over the whole slide.
        stain: coarse stain guess (see :func:`~inference.slides.stain.guess_stain`).
    """

    thumbnail_png: bytes
    tissue_outline_png: bytes
    stain: StainGuess


def slide_overview(
    path: str | Path, *, limits: SlideLimits | None = None, max_side: int = 512
) -> SlideOverview:
    """Thumbnail, tissue outline and stain guess of a (de-identified) slide.

    Args:
        path: the de-identified slide.
        limits: read limits.
        max_side: longest side of the thumbnail in pixels.

    Returns:
        The overview.
    """
    with open_slide(path, limits) as reader:
        thumb = reader.thumbnail(max_side)
        tissue = detect_tissue(reader)
    return SlideOverview(
        thumbnail_png=thumbnail_png(thumb),
        tissue_outline_png=encode_png(tissue_outline(tissue.mask)),
        stain=guess_stain(thumb.pixels),
    )
