"""Slide quality control: focus, pen marks, tissue amount, missing physical scale."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from inference.slides.schema import QCReport, QCState, TileGrid, TissueMask
from inference.slides.slide_reader import SlideReader
from inference.slides.tiles import iter_tile_batches

#: Laplacian variance (8-bit grey, 4-neighbour kernel, at the grid's magnification) below which a
#: tissue tile counts as out of focus; sharp H&E at 20x is typically in the hundreds.
BLUR_VARIANCE = 40.0
OUT_OF_FOCUS_WARN = 0.2
OUT_OF_FOCUS_FAIL = 0.8
PEN_WARN = 0.05
MIN_TILES = 10
_LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)


def laplacian_variance(tiles: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Variance of the Laplacian of each tile's grey image (low = blurred).

    Args:
        tiles: ``(n, h, w, 3)`` uint8 RGB.

    Returns:
        ``(n,)`` variances.
    """
    grey = tiles.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = np.empty(len(tiles), dtype=np.float64)
    for i, g in enumerate(grey):
        out[i] = float(ndimage.convolve(g, _LAPLACIAN, mode="reflect")[1:-1, 1:-1].var())
    return out


def assess_quality(
    reader: SlideReader,
    tissue: TissueMask,
    grid: TileGrid,
    *,
    sample_tiles: int = 48,
    blur_variance: float = BLUR_VARIANCE,
) -> QCReport:
    """Quality flags of a slide.

    Args:
        reader: the open slide.
        tissue: its tissue mask.
        grid: its tissue tile grid.
        sample_tiles: tissue tiles sampled (evenly over the grid) for the focus measure.
        blur_variance: Laplacian variance below which a tile is out of focus.

    Returns:
        State (pass / warn / fail), flags with messages, and the measured fractions.
    """
    n = len(grid)
    oof = 0.0
    sampled = 0
    if n:
        pick = np.unique(np.linspace(0, n - 1, min(sample_tiles, n)).round().astype(np.int64))
        sub = replace(grid, coords=grid.coords[pick])
        variances = np.concatenate(
            [laplacian_variance(b.pixels) for b in iter_tile_batches(reader, sub)]
        )
        sampled = len(variances)
        oof = float((variances < blur_variance).mean())
    mpp_missing = reader.info.mpp_x is None
    flags: list[str] = []
    messages: list[str] = []
    state: QCState = "pass"

    def flag(code: str, message: str, level: QCState) -> None:
        nonlocal state
        flags.append(code)
        messages.append(message)
        if level == "fail" or (level == "warn" and state == "pass"):
            state = level

    if n == 0:
        flag("no-tissue", "No tissue was found on the slide.", "fail")
    elif n < MIN_TILES:
        flag("little-tissue", f"Only {n} tissue tiles were found; results are fragile.", "warn")
    if oof > OUT_OF_FOCUS_FAIL:
        flag("out-of-focus", f"{oof:.0%} of sampled tissue is out of focus.", "fail")
    elif oof > OUT_OF_FOCUS_WARN:
        flag("out-of-focus", f"{oof:.0%} of sampled tissue is out of focus.", "warn")
    if tissue.pen_fraction > PEN_WARN:
        flag(
            "pen-marks",
            f"Pen or marking ink covers {tissue.pen_fraction:.0%} of the tissue area; "
            "it was excluded.",
            "warn",
        )
    if mpp_missing:
        flag(
            "mpp-missing",
            "The file does not record its scale (microns per pixel); "
            f"{grid.target_mpp:g} um/px tiles assume the scanner's default.",
            "warn",
        )
    return QCReport(
        state=state,
        flags=tuple(flags),
        messages=tuple(messages),
        out_of_focus_fraction=oof,
        pen_mark_fraction=tissue.pen_fraction,
        tissue_fraction=tissue.tissue_fraction,
        mpp_missing=mpp_missing,
        tiles_sampled=sampled,
    )
