"""P3: tissue detection time on a 100k x 80k slide, and agreement with Otsu on a thumbnail.

The slide is a generated sparse pyramidal TIFF (levels 1, 4, 16, 64; glass tiles empty). Ours is
``open_slide`` + ``detect_tissue``; the reference is OpenSlide's ``get_thumbnail`` followed by
Otsu on the grey image (tissue darker than the threshold). Dice is computed on the reference grid.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks.common import BenchmarkResult, result_line
from benchmarks.p2_tiling import write_sparse_pyramid
from inference.slides.reader import open_slide
from inference.slides.tissue import detect_tissue

ID = "P3"
TITLE = "tissue detection: seconds per 100k x 80k slide and Dice vs Otsu on a thumbnail"
GOAL_SECONDS = 1.0
GOAL_DICE = 0.95
ELLIPSES = ((0.25, 0.35, 0.10, 0.14), (0.55, 0.60, 0.08, 0.12), (0.80, 0.30, 0.04, 0.05))


def _reference_mask(path: Path, max_side: int) -> tuple[npt.NDArray[np.bool_], float]:
    import openslide

    start = time.perf_counter()
    slide = openslide.OpenSlide(str(path))
    thumb = slide.get_thumbnail((max_side, max_side)).convert("L")
    grey = np.asarray(thumb, dtype=np.uint8)
    slide.close()
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256)
    w1 = np.cumsum(hist)
    w2 = w1[-1] - w1
    m1 = np.cumsum(hist * levels) / np.maximum(w1, 1)
    m2 = ((hist * levels).sum() - np.cumsum(hist * levels)) / np.maximum(w2, 1)
    threshold = int(np.argmax(w1 * w2 * (m1 - m2) ** 2))
    mask = grey <= threshold
    return mask, time.perf_counter() - start


def _ours(path: Path) -> tuple[npt.NDArray[np.bool_], float]:
    start = time.perf_counter()
    with open_slide(path) as reader:
        mask = detect_tissue(reader).mask
    return mask, time.perf_counter() - start


def _dice(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    return float(2 * (a & b).sum() / max(1, int(a.sum() + b.sum())))


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run P3 and print a table; returns the result dict."""
    quick = bool(getattr(args, "quick", False))
    width, height = (30_000, 24_000) if quick else (100_000, 80_000)
    repeats = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="p3-") as tmp:
        path = Path(tmp) / "sparse.tif"
        gen = time.perf_counter()
        write_sparse_pyramid(path, width, height, ellipses=ELLIPSES)
        gen_s = time.perf_counter() - gen
        ours_runs = [_ours(path) for _ in range(repeats)]
        ref_runs = [_reference_mask(path, 2048) for _ in range(repeats)]
    ours_s = statistics.median(t for _, t in ours_runs)
    ref_s = statistics.median(t for _, t in ref_runs)
    ours_mask, ref_mask = ours_runs[0][0], ref_runs[0][0]
    resized = (
        np.asarray(
            Image.fromarray(ours_mask.astype(np.uint8) * 255).resize(
                (ref_mask.shape[1], ref_mask.shape[0]), Image.Resampling.NEAREST
            )
        )
        > 127
    )
    dice = _dice(resized, ref_mask)
    print(f"slide {width} x {height} (generated in {gen_s:.1f} s, {path.name})")
    print(f"{'method':28} {'seconds':>8} {'mask':>12}")
    print(f"{'ours (detect_tissue)':28} {ours_s:8.3f} {str(ours_mask.shape):>12}")
    print(f"{'reference (thumbnail+Otsu)':28} {ref_s:8.3f} {str(ref_mask.shape):>12}")
    print(f"Dice vs reference: {dice:.4f}")
    return result_line(
        id=ID,
        metric="seconds_per_slide",
        ours=round(ours_s, 3),
        baseline=round(ref_s, 3),
        ratio=round(ref_s / ours_s, 2),
        goal=f"<= {GOAL_SECONDS:g} s and Dice >= {GOAL_DICE}",
        met=ours_s <= GOAL_SECONDS and dice >= GOAL_DICE,
        dice=round(dice, 4),
        slide=f"{width}x{height}",
    )
