"""Tile grid at a target magnification over tissue, and fast batched tile reading.

Speed comes from three things: tiles are read from the pyramid level closest to the target
magnification (not level 0), neighbouring tiles of a row are read as one region so every native
tile is decoded once, and the native tiles of a whole batch are decoded up front in a thread pool
(:meth:`inference.slides.slide_reader.SlideReader.prefetch`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from inference.slides.schema import SlideInfo, TileGrid, TissueMask
from inference.slides.slide_reader import SlideReader

logger = logging.getLogger(__name__)

#: Microns per pixel assumed for a slide that records neither mpp nor magnification.
ASSUMED_MPP = 0.5
#: 20x objective, the usual scale of tile encoders.
DEFAULT_TARGET_MPP = 0.5

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class TileBatch:
    """Decoded tiles.

    Attributes:
        coords: ``(n, 2)`` int64 level-0 ``(x, y)``.
        pixels: ``(n, tile_size, tile_size, 3)`` uint8 RGB.
        start: index of the first tile in the grid.
    """

    coords: npt.NDArray[np.int64]
    pixels: npt.NDArray[np.uint8]
    start: int


def slide_mpp(info: SlideInfo) -> tuple[float, bool]:
    """Level-0 microns per pixel, and whether it had to be assumed.

    Uses the recorded mpp, else 10 / objective power (a 20x objective is about 0.5 um/px), else
    :data:`ASSUMED_MPP`.
    """
    if info.mpp_x is not None:
        return info.mpp_x, False
    if info.objective_power:
        return 10.0 / info.objective_power, True
    return ASSUMED_MPP, True


def plan_tile_grid(
    reader: SlideReader,
    tissue: TissueMask,
    *,
    target_mpp: float = DEFAULT_TARGET_MPP,
    tile_size: int = 256,
    min_tissue_fraction: float = 0.5,
) -> TileGrid:
    """Lay a non-overlapping tile grid over the slide and keep the tiles on tissue.

    Args:
        reader: the open slide.
        tissue: its tissue mask.
        target_mpp: microns per pixel of the tiles (0.5 is 20x, 0.25 is 40x).
        tile_size: tile side in output pixels.
        min_tissue_fraction: least share of a tile that must be tissue.

    Returns:
        The grid: level-0 coordinates, the pyramid level to read and the tile size there.
    """
    if tile_size < 8 or target_mpp <= 0:
        raise ValueError("tile_size must be >= 8 and target_mpp > 0")
    info = reader.info
    mpp0, assumed = slide_mpp(info)
    scale = target_mpp / mpp0  # level-0 pixels per output pixel
    level0_tile = max(1, round(tile_size * scale))
    level = reader.best_level_for_downsample(scale)
    level_ds = info.levels[level].downsample
    level_tile = max(1, round(level0_tile / level_ds))
    nx, ny = info.width // level0_tile, info.height // level0_tile
    coords = np.zeros((0, 2), dtype=np.int64)
    if nx and ny:
        frac = _tile_tissue_fraction(tissue, level0_tile, nx, ny)
        rows, cols = np.nonzero(frac >= min_tissue_fraction)
        coords = np.stack([cols * level0_tile, rows * level0_tile], axis=1).astype(np.int64)
    logger.info(
        "tile grid: %d tissue tiles of %d px at %.3f um/px (level %d, %d px there)",
        len(coords), tile_size, target_mpp, level, level_tile,
    )  # fmt: skip
    return TileGrid(
        coords=coords,
        tile_size=tile_size,
        level0_tile_size=level0_tile,
        level=level,
        level_tile_size=level_tile,
        target_mpp=target_mpp,
        mpp_assumed=assumed,
        min_tissue_fraction=min_tissue_fraction,
    )


def _tile_tissue_fraction(
    tissue: TissueMask, level0_tile: int, nx: int, ny: int
) -> npt.NDArray[np.float64]:
    """Share of each grid tile covered by tissue, from the mask's integral image."""
    mask = tissue.mask
    h, w = mask.shape
    integral = np.zeros((h + 1, w + 1), dtype=np.int64)
    integral[1:, 1:] = mask.cumsum(0).cumsum(1)
    step = level0_tile / tissue.downsample
    xs = np.clip(np.round(np.arange(nx + 1) * step).astype(np.int64), 0, w)
    ys = np.clip(np.round(np.arange(ny + 1) * step).astype(np.int64), 0, h)
    # A tile smaller than one mask pixel still looks at that pixel.
    x1 = np.maximum(xs[1:], np.minimum(xs[:-1] + 1, w))
    y1 = np.maximum(ys[1:], np.minimum(ys[:-1] + 1, h))
    x0, y0 = np.minimum(xs[:-1], x1 - 1), np.minimum(ys[:-1], y1 - 1)
    total = (
        integral[np.ix_(y1, x1)]
        - integral[np.ix_(y0, x1)]
        - integral[np.ix_(y1, x0)]
        + integral[np.ix_(y0, x0)]
    )
    area = np.outer(y1 - y0, x1 - x0)
    return np.asarray(total / np.maximum(area, 1), dtype=np.float64)


def _runs(xs: npt.NDArray[np.int64], step: int) -> list[tuple[int, int]]:
    """Split sorted x positions of one row into (start index, length) runs of adjacent tiles."""
    breaks = np.nonzero(np.diff(xs) != step)[0] + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(xs)]])
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def iter_tile_batches(
    reader: SlideReader,
    grid: TileGrid,
    *,
    batch_size: int = 64,
    max_run: int = 32,
    progress: ProgressCallback | None = None,
) -> Iterator[TileBatch]:
    """Read the grid's tiles in batches, in grid order.

    Args:
        reader: the open slide.
        grid: from :func:`plan_tile_grid`.
        batch_size: tiles per batch.
        max_run: most adjacent tiles read as one region.
        progress: called with ``(tiles_done, tiles_total)`` after each batch.

    Yields:
        Batches of decoded tiles.
    """
    total = len(grid)
    if total == 0:
        if progress:
            progress(0, 0)
        return
    level = grid.level
    level_ds = reader.info.levels[level].downsample
    lt, out = grid.level_tile_size, grid.tile_size
    coords = grid.coords
    # Runs of horizontally adjacent tiles in the same row, cut at batch boundaries.
    runs: list[tuple[int, int]] = []
    row_starts = np.nonzero(np.diff(coords[:, 1]) != 0)[0] + 1
    bounds = np.concatenate([[0], row_starts, [total]])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        for s, n in _runs(coords[a:b, 0], grid.level0_tile_size):
            start = int(a) + s
            while n > 0:
                take = min(n, max_run, batch_size - start % batch_size)
                runs.append((start, take))
                start, n = start + take, n - take
    done = 0
    run_i = 0
    for batch_start in range(0, total, batch_size):
        batch_end = min(total, batch_start + batch_size)
        batch_runs = []
        while run_i < len(runs) and runs[run_i][0] < batch_end:
            batch_runs.append(runs[run_i])
            run_i += 1
        rects = []
        for start, n in batch_runs:
            x, y = coords[start]
            lx, ly = round(x / level_ds), round(y / level_ds)
            rects.append((lx, ly, lx + n * lt, ly + lt))
        reader.prefetch(level, rects)
        pixels = np.empty((batch_end - batch_start, out, out, 3), dtype=np.uint8)
        for (start, n), (lx, ly, lx1, _) in zip(batch_runs, rects, strict=True):
            region = reader.read_region(level, lx, ly, lx1 - lx, lt)
            for k in range(n):
                tile = region[:, k * lt : (k + 1) * lt]
                if lt != out:
                    tile = np.asarray(
                        Image.fromarray(tile).resize((out, out), Image.Resampling.BILINEAR)
                    )
                pixels[start + k - batch_start] = tile
        done = batch_end
        yield TileBatch(coords=coords[batch_start:batch_end], pixels=pixels, start=batch_start)
        if progress:
            progress(done, total)
