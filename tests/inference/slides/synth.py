"""Synthetic H&E-like slides of controlled size, tissue layout and pyramid (tifffile)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import tifffile
from PIL import Image, ImageDraw, ImageFilter

from inference.slides.tiff import write_pyramid_level

GLASS = (242, 242, 240)
STROMA = (226, 148, 190)
NUCLEUS = (88, 52, 140)


def synthetic_he(
    width: int,
    height: int,
    *,
    discs: Sequence[tuple[float, float, float]] = ((0.5, 0.5, 0.3),),
    nuclei_per_disc: int = 400,
    nucleus_radius: int = 4,
    pen_stroke: bool = False,
    pen_width: int = 12,
    black_border: int = 0,
    blur: float = 0.0,
    seed: int = 0,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """An RGB slide with pink tissue discs dotted with purple nuclei, and its true tissue mask.

    Args:
        width: image width.
        height: image height.
        discs: ``(cx, cy, r)`` of each tissue disc, as fractions of the width.
        nuclei_per_disc: nuclei drawn at random inside each disc.
        nucleus_radius: nucleus radius in pixels.
        pen_stroke: draw a green marker line across the glass.
        pen_width: its width in pixels.
        black_border: width of a black frame (outside the scanned area).
        blur: Gaussian blur radius applied at the end (out of focus).
        seed: random seed.

    Returns:
        ``(rgb, tissue_truth)``.
    """
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height), GLASS)
    truth = Image.new("L", (width, height), 0)
    draw, tdraw = ImageDraw.Draw(img), ImageDraw.Draw(truth)
    for cx, cy, r in discs:
        x, y, rr = cx * width, cy * height, r * width
        draw.ellipse((x - rr, y - rr, x + rr, y + rr), fill=STROMA)
        tdraw.ellipse((x - rr, y - rr, x + rr, y + rr), fill=255)
        for _ in range(nuclei_per_disc):
            a, d = rng.uniform(0, 2 * np.pi), rr * np.sqrt(rng.uniform(0, 0.9))
            nx, ny = x + d * np.cos(a), y + d * np.sin(a)
            nr = nucleus_radius
            draw.ellipse((nx - nr, ny - nr, nx + nr, ny + nr), fill=NUCLEUS)
    if pen_stroke:
        y = int(height * 0.1)
        draw.line((0, y, width, y), fill=(30, 150, 70), width=pen_width)
    base = np.asarray(img).astype(np.int16)
    noise = rng.integers(-6, 7, size=base.shape)
    rgb: npt.NDArray[np.uint8] = np.clip(base + noise, 0, 255).astype(np.uint8)
    if blur:
        rgb = np.array(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(blur)), dtype=np.uint8)
    if black_border:
        b = black_border
        rgb[:b], rgb[-b:], rgb[:, :b], rgb[:, -b:] = 0, 0, 0, 0
    return rgb, np.asarray(truth) > 0


def write_pyramid(
    path: Path,
    rgb: npt.NDArray[np.uint8],
    *,
    mpp: float | None = 0.5,
    tile: int = 256,
    factors: Sequence[int] = (1, 4),
    description: str = "synthetic pyramid",
    compression: str = "jpeg",
) -> Path:
    """Write a tiled pyramidal TIFF (levels in the main IFD chain, as OpenSlide reads them).

    Args:
        path: destination.
        rgb: level-0 pixels.
        mpp: microns per pixel written to the resolution tags (``None``: no resolution).
        tile: tile side.
        factors: downsample of each level.
        description: ImageDescription of level 0.
        compression: tifffile compression name.

    Returns:
        ``path``.
    """
    with tifffile.TiffWriter(path) as tif:
        for i, f in enumerate(factors):
            level = rgb if f == 1 else np.asarray(Image.fromarray(rgb).reduce(f))
            write_pyramid_level(
                tif,
                level,
                index=i,
                tile=tile,
                downsample=f,
                mpp=mpp,
                description=description,
                compression=compression,
            )
    return path
