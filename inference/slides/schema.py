"""Frozen dataclasses that the slide functions take and return.

Coordinates are in level-0 pixels unless a field says otherwise; ``x`` is the column and ``y`` the
row, as in OpenSlide. Microns per pixel (``mpp``) is ``None`` when the file does not say, never a
guess: callers see :attr:`QCReport.mpp_missing` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

QCState = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class SlideLimits:
    """What an untrusted slide may declare and what reading it may cost.

    Attributes:
        max_file_bytes: largest file accepted at all.
        max_dimension: largest width or height of the base image, in pixels.
        max_pixels: largest width x height of the base image.
        max_ifds: most TIFF directories (images) in one file, sub-IFDs included.
        max_levels: most pyramid levels.
        max_tile_side: largest tile (or strip) width or height, in pixels.
        max_segment_bytes: largest compressed tile or strip.
        max_samples_per_pixel: most colour channels per pixel.
        max_associated_pixels: largest label/macro/thumbnail image.
        max_region_pixels: largest region one read may return (bounds every read).
        memory_bytes: address-space limit (RLIMIT_AS) of the inspection subprocess.
        cpu_seconds: CPU-time limit (RLIMIT_CPU) of the inspection subprocess.
        wall_seconds: wall-clock limit of the inspection subprocess; its process group is killed.
    """

    max_file_bytes: int = 16 * 1024**3
    max_dimension: int = 250_000
    max_pixels: int = 250_000 * 200_000
    max_ifds: int = 64
    max_levels: int = 24
    max_tile_side: int = 4096
    max_segment_bytes: int = 64 * 1024**2
    max_samples_per_pixel: int = 4
    max_associated_pixels: int = 16_000_000
    max_region_pixels: int = 8192 * 8192
    memory_bytes: int = 1536 * 1024**2
    cpu_seconds: int = 30
    wall_seconds: float = 30.0


@dataclass(frozen=True)
class SlideLevel:
    """One pyramid level.

    Attributes:
        width: level width in pixels.
        height: level height in pixels.
        downsample: level-0 pixels per level pixel.
        tile_width: native tile (or strip) width; the full width for strips.
        tile_height: native tile height; rows per strip for strips.
    """

    width: int
    height: int
    downsample: float
    tile_width: int
    tile_height: int


@dataclass(frozen=True)
class SlideInfo:
    """What inspection learned about a slide file, before any analysis.

    Attributes:
        format: ``"aperio-svs"``, ``"ome-tiff"``, ``"generic-tiff"``, ``"jpeg"`` or ``"png"``.
        reader: backend that reads it: ``"tifffile"``, ``"openslide"`` or ``"pillow"``.
        width: level-0 width in pixels.
        height: level-0 height in pixels.
        levels: pyramid levels, level 0 first.
        mpp_x: microns per pixel horizontally at level 0, ``None`` when the file does not say.
        mpp_y: microns per pixel vertically at level 0.
        objective_power: scanner objective magnification (20, 40), ``None`` when not recorded.
        associated_images: names of non-tissue images in the file (label, macro, thumbnail).
        compression: compression of level 0 (``"jpeg"``, ``"jpeg2000"``, ``"lzw"``...).
        file_bytes: file size.
        vendor: OpenSlide's vendor name when OpenSlide recognises the file, else ``None``.
        patient_id: a DICOM slide's Patient ID, only for the caller's wrong-patient check (never
            stored, never written to the derivative); ``None`` for other formats.
    """

    format: str
    reader: str
    width: int
    height: int
    levels: tuple[SlideLevel, ...]
    mpp_x: float | None
    mpp_y: float | None
    objective_power: float | None
    associated_images: tuple[str, ...]
    compression: str
    file_bytes: int
    vendor: str | None = None
    patient_id: str | None = None


@dataclass(frozen=True, eq=False)
class Thumbnail:
    """A downscaled RGB view of the whole slide.

    Attributes:
        pixels: ``(height, width, 3)`` uint8 RGB.
        downsample: level-0 pixels per thumbnail pixel.
    """

    pixels: npt.NDArray[np.uint8]
    downsample: float

    @property
    def width(self) -> int:
        """Thumbnail width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Thumbnail height in pixels."""
        return int(self.pixels.shape[0])


@dataclass(frozen=True, eq=False)
class TissueMask:
    """Where the tissue is, on a low-resolution grid.

    Attributes:
        mask: ``(height, width)`` bool, True on tissue (pen marks and background excluded).
        pen_mask: ``(height, width)`` bool, True on pen ink.
        downsample: level-0 pixels per mask pixel.
        tissue_fraction: share of the slide area that is tissue.
        pen_fraction: pen-ink area relative to tissue + pen area.
        tissue_area_mm2: tissue area in mm^2, ``None`` without microns per pixel.
        threshold: the Otsu threshold used on the tissue-likeness channel.
    """

    mask: npt.NDArray[np.bool_]
    pen_mask: npt.NDArray[np.bool_]
    downsample: float
    tissue_fraction: float
    pen_fraction: float
    tissue_area_mm2: float | None
    threshold: float


@dataclass(frozen=True, eq=False)
class TileGrid:
    """Tiles to analyse, at a target magnification, over tissue only.

    Attributes:
        coords: ``(n, 2)`` int64 level-0 ``(x, y)`` of each tile's top-left corner, row-major.
        tile_size: output tile side in pixels (what the encoder sees).
        level0_tile_size: tile side measured in level-0 pixels.
        level: pyramid level the tiles are read from.
        level_tile_size: tile side in pixels of that level (resized to ``tile_size`` if different).
        target_mpp: microns per pixel of the output tiles.
        mpp_assumed: True when the slide has no microns per pixel and 0.5 um/px was assumed.
        min_tissue_fraction: least tissue share a tile needed to be kept.
    """

    coords: npt.NDArray[np.int64]
    tile_size: int
    level0_tile_size: int
    level: int
    level_tile_size: int
    target_mpp: float
    mpp_assumed: bool
    min_tissue_fraction: float

    def __len__(self) -> int:
        return int(self.coords.shape[0])


@dataclass(frozen=True)
class QCReport:
    """Slide quality control, shown next to every slide-derived result.

    Attributes:
        state: ``"pass"``, ``"warn"`` (usable, flags shown) or ``"fail"`` (not analysable).
        flags: short machine codes (``"out-of-focus"``, ``"pen-marks"``, ``"mpp-missing"``,
            ``"no-tissue"``, ``"little-tissue"``).
        messages: one sentence per flag for a person.
        out_of_focus_fraction: share of sampled tissue tiles whose Laplacian variance is too low.
        pen_mark_fraction: pen-ink area relative to tissue + pen area.
        tissue_fraction: share of the slide area that is tissue.
        mpp_missing: True when the file records no microns per pixel.
        tiles_sampled: tissue tiles sampled for the focus measure.
    """

    state: QCState
    flags: tuple[str, ...]
    messages: tuple[str, ...]
    out_of_focus_fraction: float
    pen_mark_fraction: float
    tissue_fraction: float
    mpp_missing: bool
    tiles_sampled: int


@dataclass(frozen=True)
class DeidentifiedSlide:
    """A de-identified derivative written from an uploaded slide.

    Attributes:
        path: the written pyramidal TIFF.
        sha256: digest of the written file.
        width: level-0 width.
        height: level-0 height.
        levels: number of pyramid levels written.
        description: the image description kept (technical allowlist only).
        removed_associated_images: names of the label/macro/thumbnail images not copied.
        mpp: microns per pixel kept, ``None`` when the source had none.
        objective_power: objective magnification kept, ``None`` when the source had none.
    """

    path: str
    sha256: str
    width: int
    height: int
    levels: int
    description: str
    removed_associated_images: tuple[str, ...]
    mpp: float | None
    objective_power: float | None


@dataclass(frozen=True, eq=False)
class TileFeatures:
    """Per-tile features of one slide, as stored in its ``.npz`` file.

    Attributes:
        coords: ``(n, 2)`` int64 level-0 ``(x, y)`` per tile.
        features: ``(n, d)`` float32.
        encoder_name: the encoder that made them.
        encoder_version: its version (weights hash prefix for torch encoders).
        feature_names: ``d`` names, or empty for learned embeddings.
        tile_size: output tile side in pixels.
        level0_tile_size: tile side in level-0 pixels.
        target_mpp: microns per pixel of the tiles.
    """

    coords: npt.NDArray[np.int64]
    features: npt.NDArray[np.float32]
    encoder_name: str
    encoder_version: str
    feature_names: tuple[str, ...]
    tile_size: int
    level0_tile_size: int
    target_mpp: float


@dataclass(frozen=True)
class FeatureStat:
    """Summary of one feature over all tissue tiles of a slide."""

    name: str
    mean: float
    std: float
    p10: float
    p90: float


@dataclass(frozen=True)
class SlideSummary:
    """What the model and the case page need from one processed slide.

    Attributes:
        tissue_area_mm2: tissue area, ``None`` without microns per pixel.
        tile_count: tissue tiles analysed.
        qc: quality control of the slide.
        encoder_name: encoder of the per-tile features.
        encoder_version: its version.
        features_path: the per-tile features file (``.npz``, see :func:`load_tile_features`).
        feature_stats: per-feature summary (interpretable encoders; empty for embeddings).
        mean_embedding: mean feature vector over tiles (for slide-level models).
        mpp: microns per pixel at level 0, ``None`` when missing.
        target_mpp: microns per pixel the tiles were analysed at.
        width: level-0 width.
        height: level-0 height.
    """

    tissue_area_mm2: float | None
    tile_count: int
    qc: QCReport
    encoder_name: str
    encoder_version: str
    features_path: str
    feature_stats: tuple[FeatureStat, ...]
    mean_embedding: tuple[float, ...]
    mpp: float | None
    target_mpp: float
    width: int
    height: int


@dataclass(frozen=True)
class DeepZoomInfo:
    """Geometry of the Deep Zoom pyramid the viewer requests tiles from.

    Attributes:
        width: full-resolution width.
        height: full-resolution height.
        tile_size: tile side without overlap.
        overlap: pixels of overlap on each inner edge.
        level_count: Deep Zoom levels (level ``level_count - 1`` is full resolution).
        format: tile image format (``"jpeg"``).
    """

    width: int
    height: int
    tile_size: int
    overlap: int
    level_count: int
    format: str = "jpeg"
    level_dimensions: tuple[tuple[int, int], ...] = field(default=())
