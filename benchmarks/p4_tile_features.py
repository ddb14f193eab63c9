"""P4: tile feature pipeline throughput against the bare model on pre-decoded tensors.

Ours is :func:`inference.slides.features.extract_tile_features` on a slide file: reading, JPEG
decoding, uint8-to-tensor conversion and normalisation included, with the reader thread decoding
ahead of the model. The reference is ``model(x)`` on the same tiles already decoded and normalised
in memory, timed alternately with ours. The model is a torch tile encoder of ResNet-18-like cost at
256 px; its weights are random (throughput does not depend on them).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import BenchmarkResult, result_line
from benchmarks.p2_tiling import write_sparse_pyramid
from inference.slides.features import extract_tile_features
from inference.slides.reader import open_slide
from inference.slides.schema import TileGrid
from inference.slides.tiles import iter_tile_batches, plan_tile_grid
from inference.slides.tissue import detect_tissue
from inference.slides.torch_encoders import (
    TorchEncoderConfig,
    TorchTileEncoder,
    build_encoder_model,
)

ID = "P4"
TITLE = "tile feature pipeline vs bare model(x) on pre-decoded tensors (tiles/s)"
GOAL = 0.90
BATCH = 32


def _grid(path: Path, max_tiles: int) -> TileGrid:
    with open_slide(path) as reader:
        grid = plan_tile_grid(reader, detect_tissue(reader), target_mpp=0.5, tile_size=256)
    return TileGrid(
        coords=grid.coords[:max_tiles],
        tile_size=grid.tile_size,
        level0_tile_size=grid.level0_tile_size,
        level=grid.level,
        level_tile_size=grid.level_tile_size,
        target_mpp=grid.target_mpp,
        mpp_assumed=grid.mpp_assumed,
        min_tissue_fraction=grid.min_tissue_fraction,
    )


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run P4 and print a table; returns the result dict."""
    quick = bool(getattr(args, "quick", False))
    n_tiles = 64 if quick else 192
    repeats = 3
    torch.manual_seed(0)
    # --quick uses a 4x cheaper model to stay under a minute; the full run a ResNet-18-like cost.
    widths = (32, 64, 128, 256) if quick else (64, 128, 256, 512)
    cfg = TorchEncoderConfig(arch="cnn", image_size=256, widths=widths)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder = TorchTileEncoder(
        build_encoder_model(cfg), cfg, name="bench-cnn", version="random", device=device
    )
    with tempfile.TemporaryDirectory(prefix="p4-") as tmp:
        path = write_sparse_pyramid(Path(tmp) / "slide.tif", 24_000, 18_000, mpp=0.5, tile=240)
        grid = _grid(path, n_tiles)
        n = len(grid)
        with open_slide(path) as reader:
            tiles = np.concatenate([b.pixels for b in iter_tile_batches(reader, grid)])
        tensors = [encoder.preprocess(tiles[i : i + BATCH]) for i in range(0, n, BATCH)]
        # Warm-up (allocator, kernels) for both sides.
        with torch.inference_mode():
            encoder.model(tensors[0])

        def bare() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                for x in tensors:
                    encoder.model(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter() - start

        def pipeline() -> float:
            start = time.perf_counter()
            with open_slide(path) as reader:
                extract_tile_features(reader, grid, encoder, batch_size=BATCH)
            return time.perf_counter() - start

        bare_times, pipe_times = [], []
        for _ in range(repeats):
            bare_times.append(bare())
            pipe_times.append(pipeline())
    bare_rate = n / statistics.median(bare_times)
    pipe_rate = n / statistics.median(pipe_times)
    ratio = pipe_rate / bare_rate
    print(f"device {device}, {n} tiles of 256 px, batch {BATCH}, torch threads "
          f"{torch.get_num_threads()}")  # fmt: skip
    print(f"{'method':36} {'tiles/s':>9}")
    print(f"{'bare model(x), pre-decoded tensors':36} {bare_rate:9.1f}")
    print(f"{'pipeline (read+decode+encode)':36} {pipe_rate:9.1f}")
    print(f"ratio {ratio:.3f}")
    return result_line(
        id=ID,
        metric="tiles_per_s",
        ours=round(pipe_rate, 1),
        baseline=round(bare_rate, 1),
        ratio=round(ratio, 3),
        goal=f">= {GOAL:g}",
        met=ratio >= GOAL,
        device=str(device),
        tiles=n,
    )
