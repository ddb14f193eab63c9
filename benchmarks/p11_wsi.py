"""P11, WSI half: DICOM whole-slide tiling throughput against the SVS of the same slide.

The shared SVS slides of ``wsi-samples`` are made into DICOM WSI (VL Whole Slide Microscopy) by
Debian's ``OrthancWSIDicomizer`` (``orthanc-wsi``) in a temporary folder: it copies the SVS's JPEG
tiles into the DICOM frames, so both files hold the same compressed tiles and the comparison is
of the readers, not of the codecs. Both sides run our batched tiler
(:func:`~inference.slides.tiles.iter_tile_batches`) over the same level-0 tissue tiles (256 px):
ours through :class:`~inference.slides.dicom_wsi.DicomWsiReader` (wsidicom) on the DICOM folder,
the baseline through the TIFF reader on the SVS. Each side opens the slide afresh for every repeat;
the throughput is of the tiling after the open (the open is timed apart and printed, and its
median in milliseconds is in ``open_ms`` as ``[DICOM, SVS]``); medians are reported. Goal: DICOM
at least 0.8x the SVS's tiles per second on every slide: ``ratio`` is the worst slide's (the
second slide's SVS is a stripped TIFF, slow to tile, so the totals in ``ours`` and ``baseline``
flatter DICOM; the first slide, whose DICOM frames are its SVS tiles, is the like-for-like one).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.common import BenchmarkResult, result_line
from benchmarks.p2_tiling import _level0_grid, _tissue_coords
from inference.slides.reader import open_slide
from inference.slides.tiles import iter_tile_batches
from tests.inference.slides.dicomize import dicomize

# Not ``ID``: benchmarks/__main__.py registers every module with an ``ID``, and P11's id belongs to
# p11_pacs_import, whose ``run`` is to call this one's and report both halves.
PART_OF = "P11"
TITLE = "DICOM WSI tiling (wsidicom) vs the SVS of the same slide (tiles/s)"
GOAL = 0.8
SLIDES = ("CMU-1-Small-Region.svs", "TCGA-CR-7395-01A-01-TS1.svs")


def _tile_all(path: Path, coords: npt.NDArray[np.int64]) -> tuple[float, float]:
    """Seconds to open the slide, and to tile it (the throughput is of the second)."""
    start = time.perf_counter()
    with open_slide(path) as reader:
        opened = time.perf_counter()
        grid = _level0_grid(reader, coords)
        for batch in iter_tile_batches(reader, grid, batch_size=64):
            int(batch.pixels[:, 128, 128, 0].sum())
        done = time.perf_counter()
    return opened - start, done - opened


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the WSI half of P11 and print a table; returns the result dict."""
    data = Path(args.data) / "wsi-samples"
    quick = bool(getattr(args, "quick", False))
    repeats = 3 if quick else 15
    slides = [(name, data / name) for name in SLIDES if (data / name).exists()]
    if not slides:
        raise SystemExit(f"P11: no slides under {data}; pass --data pointing at ../shared/data")
    rows = []
    total_dicom = total_svs = 0.0
    total_tiles = 0
    with tempfile.TemporaryDirectory(prefix="p11-wsi-") as tmp:
        for name, svs in slides:
            start = time.perf_counter()
            folder = dicomize(svs, Path(tmp) / name.removesuffix(".svs"))[0].parent
            dicomize_s = time.perf_counter() - start
            coords = _tissue_coords(svs, 400 if quick else None)
            _tile_all(folder, coords), _tile_all(svs, coords)  # warm the page cache, both sides
            dicom_open, dicom_t = _median([_tile_all(folder, coords) for _ in range(repeats)])
            svs_open, svs_t = _median([_tile_all(svs, coords) for _ in range(repeats)])
            n = len(coords)
            rows.append((name, n, n / dicom_t, n / svs_t, dicomize_s, dicom_open, svs_open))
            total_dicom += dicom_t
            total_svs += svs_t
            total_tiles += n
    print(
        f"{'slide':32} {'tiles':>6} {'DICOM t/s':>10} {'SVS t/s':>10} {'ratio':>6}"
        f" {'open ms DICOM/SVS':>18} {'dicomize s':>10}"
    )
    for name, n, d, s, gen, do, so in rows:
        opens = f"{do * 1000:.1f}/{so * 1000:.1f}"
        print(f"{name:32} {n:6d} {d:10.1f} {s:10.1f} {d / s:6.2f} {opens:>18} {gen:10.1f}")
    ours = total_tiles / total_dicom
    baseline = total_tiles / total_svs
    ratio = min(row[2] / row[3] for row in rows)
    return result_line(
        id=PART_OF,
        metric="dicom_wsi_tiles_per_s",
        ours=round(ours, 1),
        baseline=round(baseline, 1),
        ratio=round(ratio, 2),
        goal=f">= {GOAL:g}",
        met=ratio >= GOAL,
        per_slide={row[0]: round(row[2] / row[3], 2) for row in rows},
        open_ms={row[0]: [round(row[5] * 1000, 1), round(row[6] * 1000, 1)] for row in rows},
        tiles=total_tiles,
        repeats=repeats,
    )
