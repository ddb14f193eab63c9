"""What the slide viewer serves: Deep Zoom (DZI) tiles and heatmap overlays.

Deep Zoom tiles come from the de-identified derivative only. Every request is bounds-checked
(level, column and row in range; the region read is at most a few tiles of the closest pyramid
level), so a crafted URL cannot make the server read an unbounded region.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt
from PIL import Image

from inference.slides.errors import RegionOutOfBounds
from inference.slides.reader import open_slide
from inference.slides.schema import DeepZoomInfo, SlideLimits, Thumbnail
from inference.slides.slide_reader import ClosesOnExit, SlideReader

_DZI_NS = "http://schemas.microsoft.com/deepzoom/2008"


class DeepZoom(ClosesOnExit):
    """Deep Zoom pyramid over an open slide (keep one per slide open in the viewer process).

    Args:
        reader: the de-identified slide.
        tile_size: tile side without overlap (254 + 2 x 1 overlap = 256 on the wire).
        overlap: overlap in pixels.
        quality: JPEG quality.
    """

    def __init__(
        self, reader: SlideReader, *, tile_size: int = 254, overlap: int = 1, quality: int = 85
    ) -> None:
        if not 16 <= tile_size <= 2048 or not 0 <= overlap <= 8:
            raise ValueError("tile_size must be 16..2048 and overlap 0..8")
        self.reader = reader
        self.tile_size = tile_size
        self.overlap = overlap
        self.quality = quality
        w, h = reader.info.width, reader.info.height
        self.level_count = int(math.ceil(math.log2(max(w, h)))) + 1
        dims = []
        for level in range(self.level_count):
            scale = 2 ** (self.level_count - 1 - level)
            dims.append((max(1, -(-w // scale)), max(1, -(-h // scale))))
        self.level_dimensions = tuple(dims)

    def close(self) -> None:
        """Close the slide it reads."""
        self.reader.close()

    @property
    def info(self) -> DeepZoomInfo:
        """Geometry of the pyramid."""
        return DeepZoomInfo(
            width=self.reader.info.width,
            height=self.reader.info.height,
            tile_size=self.tile_size,
            overlap=self.overlap,
            level_count=self.level_count,
            format="jpeg",
            level_dimensions=self.level_dimensions,
        )

    def dzi_xml(self) -> str:
        """The ``.dzi`` descriptor OpenSeadragon loads."""
        w, h = self.reader.info.width, self.reader.info.height
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image xmlns={quoteattr(_DZI_NS)} Format="jpeg" Overlap="{self.overlap}" '
            f'TileSize="{self.tile_size}"><Size Width="{w}" Height="{h}"/></Image>\n'
        )

    def tile_count(self, level: int) -> tuple[int, int]:
        """(columns, rows) of a Deep Zoom level."""
        lw, lh = self.level_dimensions[level]
        return -(-lw // self.tile_size), -(-lh // self.tile_size)

    def tile_pixels(self, level: int, col: int, row: int) -> npt.NDArray[np.uint8]:
        """RGB pixels of one Deep Zoom tile.

        Raises:
            RegionOutOfBounds: level, column or row outside the pyramid.
        """
        if not 0 <= level < self.level_count:
            raise RegionOutOfBounds(f"deep zoom level {level} does not exist")
        cols, rows = self.tile_count(level)
        if not (0 <= col < cols and 0 <= row < rows):
            raise RegionOutOfBounds(f"tile {col}_{row} is outside level {level}")
        lw, lh = self.level_dimensions[level]
        ts, ov = self.tile_size, self.overlap
        x0 = col * ts - (ov if col > 0 else 0)
        y0 = row * ts - (ov if row > 0 else 0)
        x1 = min(lw, (col + 1) * ts + (ov if col < cols - 1 else 0))
        y1 = min(lh, (row + 1) * ts + (ov if row < rows - 1 else 0))
        out_w, out_h = x1 - x0, y1 - y0
        scale = 2 ** (self.level_count - 1 - level)  # level-0 pixels per deep-zoom pixel
        src = self.reader.best_level_for_downsample(scale)
        factor = scale / self.reader.info.levels[src].downsample
        sx, sy = math.floor(x0 * factor), math.floor(y0 * factor)
        sw = max(1, math.ceil(x1 * factor) - sx)
        sh = max(1, math.ceil(y1 * factor) - sy)
        region = self.reader.read_region(src, sx, sy, sw, sh)
        if (sw, sh) != (out_w, out_h):
            region = np.asarray(
                Image.fromarray(region).resize((out_w, out_h), Image.Resampling.BILINEAR)
            )
        return region

    def tile_jpeg(self, level: int, col: int, row: int) -> bytes:
        """One Deep Zoom tile as JPEG bytes (see :meth:`tile_pixels`)."""
        buf = io.BytesIO()
        Image.fromarray(self.tile_pixels(level, col, row)).save(
            buf, format="JPEG", quality=self.quality
        )
        return buf.getvalue()


def open_deepzoom(path: str | Path, limits: SlideLimits | None = None) -> DeepZoom:
    """Open a de-identified slide for Deep Zoom serving (close it, or use ``with``)."""
    return DeepZoom(open_slide(path, limits))


def deepzoom_tile(path: str | Path, level: int, col: int, row: int) -> bytes:
    """One Deep Zoom tile of a slide file as JPEG bytes (opens and closes the file).

    Args:
        path: the de-identified slide.
        level: Deep Zoom level (0 = 1 pixel).
        col: tile column.
        row: tile row.

    Returns:
        JPEG bytes.

    Raises:
        RegionOutOfBounds: the tile does not exist.
    """
    with open_deepzoom(path) as dz:
        return dz.tile_jpeg(level, col, row)


def encode_png(pixels: npt.NDArray[np.uint8]) -> bytes:
    """PNG bytes of an RGB or RGBA uint8 image."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def thumbnail_png(thumbnail: Thumbnail) -> bytes:
    """PNG bytes of a thumbnail."""
    return encode_png(thumbnail.pixels)


# Viridis at 9 stops (matplotlib's colormap data), interpolated linearly.
_VIRIDIS = np.array(
    [
        [68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140],
        [40, 174, 128], [94, 201, 98], [170, 220, 50], [253, 231, 37],
    ],
    dtype=np.float32,
)  # fmt: skip


def colormap(values: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Map values in [0, 1] to viridis RGB."""
    v = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(_VIRIDIS) - 1)
    lo = np.floor(v).astype(np.int64)
    hi = np.minimum(lo + 1, len(_VIRIDIS) - 1)
    t = (v - lo)[..., None]
    return np.round(_VIRIDIS[lo] * (1 - t) + _VIRIDIS[hi] * t).astype(np.uint8)


def render_heatmap(
    coords: npt.NDArray[np.int64],
    scores: npt.NDArray[np.floating],
    *,
    level0_tile_size: int,
    slide_size: tuple[int, int],
    overlay_size: tuple[int, int],
    value_range: tuple[float, float] | None = None,
    opacity: float = 0.5,
) -> npt.NDArray[np.uint8]:
    """An RGBA overlay of per-tile scores, aligned to a thumbnail of the slide.

    Args:
        coords: ``(n, 2)`` level-0 ``(x, y)`` of the tiles.
        scores: ``(n,)`` a score per tile; NaN leaves the tile transparent.
        level0_tile_size: tile side in level-0 pixels.
        slide_size: level-0 ``(width, height)``.
        overlay_size: ``(width, height)`` of the overlay (the thumbnail's size).
        value_range: scores mapped to the ends of the colour scale; default min..max.
        opacity: alpha of painted tiles (0..1).

    Returns:
        ``(height, width, 4)`` uint8 RGBA; untouched pixels are fully transparent.
    """
    coords = np.asarray(coords, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) != len(scores):
        raise ValueError("coords must be (n, 2) and scores (n,)")
    ow, oh = overlay_size
    if not (1 <= ow <= 8192 and 1 <= oh <= 8192):
        raise ValueError("overlay must be 1..8192 pixels a side")
    out = np.zeros((oh, ow, 4), dtype=np.uint8)
    finite = np.isfinite(scores)
    if not finite.any():
        return out
    lo, hi = value_range or (float(scores[finite].min()), float(scores[finite].max()))
    norm = (scores - lo) / (hi - lo) if hi > lo else np.full_like(scores, 0.5)
    colours = colormap(norm)
    sx, sy = ow / slide_size[0], oh / slide_size[1]
    x0 = np.floor(coords[:, 0] * sx).astype(np.int64)
    y0 = np.floor(coords[:, 1] * sy).astype(np.int64)
    x1 = np.maximum(np.ceil((coords[:, 0] + level0_tile_size) * sx).astype(np.int64), x0 + 1)
    y1 = np.maximum(np.ceil((coords[:, 1] + level0_tile_size) * sy).astype(np.int64), y0 + 1)
    alpha = int(round(255 * min(max(opacity, 0.0), 1.0)))
    for i in np.nonzero(finite)[0]:
        out[max(y0[i], 0) : min(y1[i], oh), max(x0[i], 0) : min(x1[i], ow), :3] = colours[i]
        out[max(y0[i], 0) : min(y1[i], oh), max(x0[i], 0) : min(x1[i], ow), 3] = alpha
    return out


def tissue_outline(
    mask: npt.NDArray[np.bool_], *, colour: tuple[int, int, int] = (0, 200, 255), width: int = 2
) -> npt.NDArray[np.uint8]:
    """An RGBA image, transparent except for the boundary of the tissue mask.

    Args:
        mask: ``(h, w)`` bool tissue mask (see :class:`~inference.slides.schema.TissueMask`).
        colour: RGB of the outline.
        width: outline thickness in mask pixels.

    Returns:
        ``(h, w, 4)`` uint8 RGBA aligned with the mask (and so with the whole slide).
    """
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    inner = ndimage.binary_erosion(mask, iterations=max(1, width), border_value=0)
    edge = mask & ~inner
    out = np.zeros((*mask.shape, 4), dtype=np.uint8)
    out[edge, :3] = colour
    out[edge, 3] = 255
    return out
