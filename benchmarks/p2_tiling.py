"""P2: slide tiling throughput, our batched tiler against a naive OpenSlide ``read_region`` loop.

Both read the same tissue tiles (level 0, 256 px) of the same files in the same run: the real SVS
files of ``wsi-samples`` and a large generated pyramidal TIFF (sparse JPEG tiles of 240 px, the
Aperio layout, written to a temporary folder). Each side opens the slide afresh for every repeat;
the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.common import BenchmarkResult, result_line
from inference.slides.reader import open_slide
from inference.slides.tiff import write_pyramid_level
from inference.slides.tiles import iter_tile_batches, plan_tile_grid
from inference.slides.tissue import detect_tissue

ID = "P2"
TITLE = "slide tiling: batched tiler vs naive OpenSlide read_region loop (tiles/s)"
GOAL = 5.0

Ellipse = tuple[float, float, float, float]
DEFAULT_ELLIPSES: tuple[Ellipse, ...] = (
    (0.30, 0.40, 0.16, 0.22),
    (0.62, 0.55, 0.12, 0.18),
    (0.80, 0.30, 0.06, 0.08),
)


def _texture_tiles(tile: int, n: int, seed: int) -> list[npt.NDArray[np.uint8]]:
    """H&E-like textures: pink stroma with noise and purple nuclei."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:tile, 0:tile]
    out = []
    for _ in range(n):
        img = np.empty((tile, tile, 3), np.float32)
        img[:] = (226, 148, 190)
        img += rng.normal(0, 8, img.shape)
        for cx, cy in rng.integers(0, tile, (tile * tile // 900, 2)):
            blob = (xx - cx) ** 2 + (yy - cy) ** 2 < 16
            img[blob] = (88, 52, 140)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def write_sparse_pyramid(
    path: Path,
    width: int,
    height: int,
    *,
    mpp: float = 0.25,
    tile: int = 256,
    factors: Sequence[int] = (1, 4, 16, 64),
    ellipses: Sequence[Ellipse] = DEFAULT_ELLIPSES,
    quality: int = 80,
) -> Path:
    """Write a large pyramidal JPEG TIFF whose glass tiles are empty (zero bytes), like scanners do.

    Args:
        path: destination.
        width: level-0 width.
        height: level-0 height.
        mpp: level-0 microns per pixel (resolution tags).
        tile: tile side.
        factors: downsample of each level (levels live in the main IFD chain).
        ellipses: tissue regions ``(cx, cy, rx, ry)`` as fractions of width / height.
        quality: JPEG quality of tissue tiles.

    Returns:
        ``path``.
    """
    import imagecodecs
    import tifffile

    textures = _texture_tiles(tile, 8, seed=0)
    glass = np.array((242, 242, 240), np.uint8)
    bigtiff = width * height * 3 > 2**31

    def level_tiles(lw: int, lh: int, f: int) -> Iterator[bytes]:
        cols, rows = -(-lw // tile), -(-lh // tile)
        ys, xs = np.mgrid[0:tile, 0:tile].astype(np.float32)
        for r in range(rows):
            for c in range(cols):
                x0, y0 = c * tile, r * tile
                inside = np.zeros((tile, tile), bool)
                for cx, cy, rx, ry in ellipses:
                    ex, ey, erx, ery = cx * lw, cy * lh, rx * lw, ry * lh
                    if (
                        x0 + tile < ex - erx
                        or x0 > ex + erx
                        or y0 + tile < ey - ery
                        or y0 > ey + ery
                    ):
                        continue
                    inside |= ((xs + x0 - ex) / erx) ** 2 + ((ys + y0 - ey) / ery) ** 2 <= 1
                if not inside.any():
                    yield b""
                    continue
                img = np.where(inside[..., None], textures[(r * 7 + c) % 8], glass)
                yield bytes(imagecodecs.jpeg8_encode(np.ascontiguousarray(img), level=quality))

    with tifffile.TiffWriter(path, bigtiff=bigtiff) as tif:
        for i, f in enumerate(factors):
            lw, lh = -(-width // f), -(-height // f)
            write_pyramid_level(
                tif,
                level_tiles(lw, lh, f),
                index=i,
                tile=tile,
                downsample=f,
                mpp=mpp,
                description="generated sparse pyramid",
                shape=(lh, lw, 3),
            )
    return path


def _ours(path: Path, coords: npt.NDArray[np.int64]) -> tuple[float, int]:
    start = time.perf_counter()
    with open_slide(path) as reader:
        grid = _level0_grid(reader, coords)
        n = 0
        checksum = 0
        for batch in iter_tile_batches(reader, grid, batch_size=64):
            n += len(batch.coords)
            checksum += int(batch.pixels[:, 128, 128, 0].sum())
    return time.perf_counter() - start, n


def _naive(path: Path, coords: npt.NDArray[np.int64]) -> tuple[float, int]:
    import openslide

    start = time.perf_counter()
    slide = openslide.OpenSlide(str(path))
    n = 0
    checksum = 0
    for x, y in coords:
        tile = np.asarray(slide.read_region((int(x), int(y)), 0, (256, 256)))[:, :, :3]
        checksum += int(tile[128, 128, 0])
        n += 1
    slide.close()
    return time.perf_counter() - start, n


def _level0_grid(reader: Any, coords: npt.NDArray[np.int64]) -> Any:
    """A level-0, 256 px grid over the given coordinates."""
    from inference.slides.schema import TileGrid

    return TileGrid(
        coords=coords,
        tile_size=256,
        level0_tile_size=256,
        level=0,
        level_tile_size=256,
        target_mpp=reader.info.mpp_x or 0.5,
        mpp_assumed=reader.info.mpp_x is None,
        min_tissue_fraction=0.5,
    )


def _tissue_coords(path: Path, max_tiles: int | None) -> npt.NDArray[np.int64]:
    with open_slide(path) as reader:
        tissue = detect_tissue(reader)
        mpp = reader.info.mpp_x or 0.5
        grid = plan_tile_grid(reader, tissue, target_mpp=mpp, tile_size=256)
    coords = grid.coords
    if max_tiles is not None and len(coords) > max_tiles:
        # A contiguous block of rows: tiling order matters for both readers' caches.
        coords = coords[:max_tiles]
    return coords


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run P2 and print a table; returns the result dict."""
    data = Path(args.data) / "wsi-samples"
    quick = bool(getattr(args, "quick", False))
    repeats = 1 if quick else 3
    slides: list[tuple[str, Path]] = []
    for name in ("CMU-1-Small-Region.svs", "TCGA-CR-7395-01A-01-TS1.svs"):
        if (data / name).exists():
            slides.append((name, data / name))
    if not slides:
        raise SystemExit(f"P2: no slides under {data}; pass --data pointing at ../shared/data")
    rows = []
    with tempfile.TemporaryDirectory(prefix="p2-") as tmp:
        size = (24_000, 18_000) if quick else (60_000, 45_000)
        gen_start = time.perf_counter()
        big = write_sparse_pyramid(Path(tmp) / "generated.tif", *size, tile=240)
        gen_s = time.perf_counter() - gen_start
        slides.append((f"generated {size[0]}x{size[1]}", big))
        total_ours = total_naive = 0.0
        total_tiles = 0
        for name, path in slides:
            coords = _tissue_coords(path, 400 if quick else 3000)
            ours_t = statistics.median(_ours(path, coords)[0] for _ in range(repeats))
            naive_t = statistics.median(_naive(path, coords)[0] for _ in range(repeats))
            n = len(coords)
            rows.append((name, n, n / ours_t, n / naive_t))
            total_ours += ours_t
            total_naive += naive_t
            total_tiles += n
    print(f"{'slide':34} {'tiles':>6} {'ours t/s':>10} {'naive t/s':>10} {'ratio':>7}")
    for name, n, o, b in rows:
        print(f"{name:34} {n:6d} {o:10.1f} {b:10.1f} {o / b:7.2f}")
    print(f"(generated TIFF written in {gen_s:.1f} s)")
    ours = total_tiles / total_ours
    baseline = total_tiles / total_naive
    ratio = ours / baseline
    return result_line(
        id=ID,
        metric="tiles_per_s",
        ours=round(ours, 1),
        baseline=round(baseline, 1),
        ratio=round(ratio, 2),
        goal=f">= {GOAL:g}",
        met=ratio >= GOAL,
        per_slide={name: round(o / b, 2) for name, _, o, b in rows},
        tiles=total_tiles,
    )
