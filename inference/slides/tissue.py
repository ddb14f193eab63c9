"""Tissue detection on a low-resolution pyramid level.

Otsu's threshold on colour saturation separates stained tissue from glass; before thresholding we
set aside the things that are not tissue but are not glass either: black background (outside the
scanned area, slide edges), and pen ink (green, blue, black marker), which a saturation threshold
alone would call tissue. Morphology then removes specks, closes gaps and fills holes.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from inference.slides.schema import TissueMask
from inference.slides.slide_reader import SlideReader

logger = logging.getLogger(__name__)

#: Least saturation counted as stain even when Otsu picks a lower threshold (a slide of glass).
MIN_SATURATION = 0.07
#: Most saturation ever required: on a crop that is all tissue Otsu would split the tissue itself.
MAX_SATURATION = 0.15
#: Smallest tissue fragment kept, in mm^2 (or in mask pixels without microns per pixel).
MIN_FRAGMENT_MM2 = 0.002
MIN_FRAGMENT_PX = 16


def otsu_threshold(
    values: npt.NDArray[np.floating] | npt.NDArray[np.integer], bins: int = 256
) -> float:
    """Otsu's threshold of a 1-D sample.

    Args:
        values: the sample (any shape; flattened).
        bins: histogram bins.

    Returns:
        The threshold maximising between-class variance; the minimum for a constant sample.
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size == 0:
        return 0.0
    lo, hi = float(flat.min()), float(flat.max())
    if hi <= lo:
        return lo
    hist, edges = np.histogram(flat, bins=bins, range=(lo, hi))
    centers = (edges[:-1] + edges[1:]) / 2
    weight1 = np.cumsum(hist)
    weight2 = weight1[-1] - weight1
    mean1 = np.cumsum(hist * centers) / np.maximum(weight1, 1)
    total = (hist * centers).sum()
    mean2 = (total - np.cumsum(hist * centers)) / np.maximum(weight2, 1)
    between = weight1 * weight2 * (mean1 - mean2) ** 2
    return float(centers[int(np.argmax(between[:-1]))]) if bins > 1 else lo


def low_resolution_image(
    reader: SlideReader, *, min_side: int = 1024, max_side: int = 4096
) -> tuple[npt.NDArray[np.uint8], float]:
    """The whole slide from the coarsest level that is still at least ``min_side`` long.

    Args:
        reader: an open slide.
        min_side: the chosen level's longer side is at least this (when the slide is).
        max_side: if that level is longer than this, it is downscaled to this.

    Returns:
        RGB image and its downsample (level-0 pixels per image pixel).
    """
    chosen = 0
    for i, lv in enumerate(reader.info.levels):
        if max(lv.width, lv.height) >= min_side:
            chosen = i
    lv = reader.info.levels[chosen]
    longest = max(lv.width, lv.height)
    if longest <= max_side:
        rgb = reader.read_region(chosen, 0, 0, lv.width, lv.height)
        return rgb, reader.info.width / lv.width
    return reader.read_downsampled(max(reader.info.width, reader.info.height) / max_side)


def classify_pixels(
    rgb: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Saturation, pen-ink mask and dark (black background / black ink) mask of an RGB image."""
    r = rgb[..., 0].astype(np.int16)
    g = rgb[..., 1].astype(np.int16)
    b = rgb[..., 2].astype(np.int16)
    maxc = np.maximum(np.maximum(r, g), b)
    minc = np.minimum(np.minimum(r, g), b)
    saturation = np.divide(
        (maxc - minc).astype(np.float32), np.maximum(maxc, 1).astype(np.float32), dtype=np.float32
    )
    # Stains keep red above green or blue dominant-but-soft; marker inks are purer. Green ink:
    # green dominant. Blue ink: blue far above both others and strongly saturated (hematoxylin,
    # even the blue IHC counterstain, stays below these margins).
    green_ink = (g > r + 20) & (g > b) & (saturation > 0.2)
    blue_ink = (b - np.maximum(r, g) > 70) & (saturation > 0.6)
    # Black: dark and neutral (brown DAB nuclei are dark too, but not neutral).
    dark = (maxc < 50) & (saturation < 0.35)
    return saturation, green_ink | blue_ink, dark


def tissue_mask_from_rgb(
    rgb: npt.NDArray[np.uint8],
    *,
    downsample: float,
    mpp: float | None,
    min_saturation: float = MIN_SATURATION,
) -> TissueMask:
    """Tissue, pen and background masks of a low-resolution RGB image.

    Args:
        rgb: ``(h, w, 3)`` uint8.
        downsample: level-0 pixels per image pixel.
        mpp: level-0 microns per pixel, or ``None``.
        min_saturation: floor of the Otsu threshold.

    Returns:
        The tissue mask and its statistics.
    """
    saturation, pen, dark = classify_pixels(rgb)
    if mpp is not None:
        px_mm2 = (downsample * mpp / 1000.0) ** 2
        min_px = max(4, min(int(MIN_FRAGMENT_MM2 / px_mm2), rgb.shape[0] * rgb.shape[1] // 100))
    else:
        min_px = MIN_FRAGMENT_PX
    # Dark regions touching the border are background (outside the scan); large dark regions
    # inside are black ink; small ones are left to the saturation test (dark nuclei).
    labels, n = ndimage.label(dark)
    if n:
        border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        sizes = np.bincount(labels.ravel())
        is_ink = sizes >= min_px
        is_ink[0] = False
        is_ink[border] = False
        pen = pen | is_ink[labels]
        dark = dark & ~(pen | ~np.isin(labels, border[border > 0]))
    candidates = ~(pen | dark)
    values = saturation[candidates]
    threshold = (
        min(max(otsu_threshold(values), min_saturation), MAX_SATURATION) if values.size else 1.0
    )
    tissue = candidates & (saturation > threshold)
    # Opening then closing with square windows; min/max filters are separable, hence fast.
    t8 = tissue.view(np.uint8)
    t8 = ndimage.maximum_filter(ndimage.minimum_filter(t8, size=3), size=3)
    t8 = ndimage.minimum_filter(ndimage.maximum_filter(t8, size=5), size=5)
    tissue = _fill_holes(t8.astype(bool))
    tissue &= ~pen
    labels, n = ndimage.label(tissue)
    if n:
        sizes = np.bincount(labels.ravel())
        keep = sizes >= min_px
        keep[0] = False
        tissue = keep[labels]
    tissue_px = int(tissue.sum())
    pen_px = int(pen.sum())
    area = None if mpp is None else tissue_px * (downsample * mpp / 1000.0) ** 2
    return TissueMask(
        mask=tissue,
        pen_mask=pen,
        downsample=float(downsample),
        tissue_fraction=tissue_px / tissue.size,
        pen_fraction=pen_px / max(1, tissue_px + pen_px),
        tissue_area_mm2=area,
        threshold=float(threshold),
    )


def _fill_holes(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Fill background regions that do not reach the border (one labelling pass, fast)."""
    labels, n = ndimage.label(~mask)
    if n == 0:
        return mask
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.zeros(n + 1, dtype=bool)
    outside[border] = True
    outside[0] = False
    return np.asarray(~outside[labels], dtype=bool)


def detect_tissue(reader: SlideReader, *, min_side: int = 1024, max_side: int = 1024) -> TissueMask:
    """Detect tissue on a low-resolution view of the slide.

    Args:
        reader: an open slide.
        min_side: see :func:`low_resolution_image`.
        max_side: see :func:`low_resolution_image`.

    Returns:
        The tissue mask (pen ink and background excluded) and its area in mm^2.
    """
    rgb, downsample = low_resolution_image(reader, min_side=min_side, max_side=max_side)
    mask = tissue_mask_from_rgb(rgb, downsample=downsample, mpp=reader.info.mpp_x)
    logger.info(
        "tissue %.1f%% of slide, pen %.1f%%, threshold %.3f",
        100 * mask.tissue_fraction,
        100 * mask.pen_fraction,
        mask.threshold,
    )
    return mask
