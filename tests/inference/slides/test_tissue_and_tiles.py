"""Tissue mask, tile grid at a target magnification, batched tiling and QC flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from inference.slides.qc import assess_quality
from inference.slides.reader import open_slide
from inference.slides.tiles import iter_tile_batches, plan_tile_grid
from inference.slides.tissue import detect_tissue, otsu_threshold, tissue_mask_from_rgb
from tests.inference.slides.synth import synthetic_he, write_pyramid


def _dice(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


def _resize_mask(mask: npt.NDArray[np.bool_], shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    img = Image.fromarray(mask.astype(np.uint8) * 255).resize(
        (shape[1], shape[0]), Image.Resampling.NEAREST
    )
    return np.asarray(img) > 127


def test_otsu_splits_a_bimodal_sample() -> None:
    rng = np.random.default_rng(0)
    low, high = rng.normal(0.05, 0.01, 5000), rng.normal(0.4, 0.05, 2000)
    t = otsu_threshold(np.concatenate([low, high]))
    assert (low < t).mean() > 0.99
    assert (high > t).mean() > 0.99


def test_it_finds_the_tissue_discs(he_slide: tuple[Path, npt.NDArray[np.bool_]]) -> None:
    path, truth = he_slide
    with open_slide(path) as reader:
        mask = detect_tissue(reader)
    assert _dice(mask.mask, _resize_mask(truth, mask.mask.shape)) > 0.95
    expected_mm2 = truth.sum() * (0.25 / 1000) ** 2
    assert mask.tissue_area_mm2 == pytest.approx(expected_mm2, rel=0.08)


def test_it_excludes_pen_marks_and_black_background() -> None:
    rgb, truth = synthetic_he(
        1024, 768, discs=((0.5, 0.55, 0.25),), pen_stroke=True, black_border=24, seed=3
    )
    mask = tissue_mask_from_rgb(rgb, downsample=1.0, mpp=2.0)
    assert mask.pen_mask[int(768 * 0.1), 300:700].mean() > 0.9
    assert not mask.mask[int(768 * 0.1), :].any()
    assert not mask.mask[:24].any() and not mask.mask[:, -24:].any()
    assert _dice(mask.mask, truth) > 0.95
    assert mask.pen_fraction > 0.01


def test_a_blank_slide_has_no_tissue() -> None:
    rgb, _ = synthetic_he(512, 512, discs=())
    mask = tissue_mask_from_rgb(rgb, downsample=1.0, mpp=0.5)
    assert mask.tissue_fraction == 0.0


def test_the_grid_reads_the_40x_slide_from_the_2x_level_at_20x(
    he_slide: tuple[Path, npt.NDArray[np.bool_]],
) -> None:
    path, truth = he_slide
    with open_slide(path) as reader:
        grid = plan_tile_grid(reader, detect_tissue(reader), target_mpp=0.5, tile_size=256)
    assert (grid.level, grid.level_tile_size, grid.level0_tile_size) == (1, 256, 512)
    assert not grid.mpp_assumed
    assert len(grid) > 0
    # Every tile's centre is on tissue.
    cx = grid.coords[:, 0] + 256
    cy = grid.coords[:, 1] + 256
    assert truth[cy, cx].all()
    assert (grid.coords % 512 == 0).all()


def test_batched_tiles_equal_direct_reads_and_report_progress(
    he_slide: tuple[Path, npt.NDArray[np.bool_]],
) -> None:
    path, _ = he_slide
    calls: list[tuple[int, int]] = []
    with open_slide(path) as reader:
        grid = plan_tile_grid(reader, detect_tissue(reader))
        batches = list(
            iter_tile_batches(
                reader, grid, batch_size=7, progress=lambda d, t: calls.append((d, t))
            )
        )
        tiles = np.concatenate([b.pixels for b in batches])
        coords = np.concatenate([b.coords for b in batches])
        assert np.array_equal(coords, grid.coords)
        for i in (0, len(grid) // 2, len(grid) - 1):
            x, y = grid.coords[i] // 2
            direct = reader.read_region(1, int(x), int(y), 256, 256)
            assert np.array_equal(tiles[i], direct)
    assert tiles.shape == (len(grid), 256, 256, 3)
    assert calls[-1] == (len(grid), len(grid))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_tiles_are_resized_when_no_level_matches(cmu_svs: Path) -> None:
    with open_slide(cmu_svs) as reader:
        grid = plan_tile_grid(reader, detect_tissue(reader), target_mpp=1.0, tile_size=128)
        batch = next(iter_tile_batches(reader, grid))
    assert grid.level0_tile_size == round(128 * 1.0 / 0.499)
    assert batch.pixels.shape[1:] == (128, 128, 3)


def test_qc_passes_a_sharp_slide_with_scale(he_slide: tuple[Path, npt.NDArray[np.bool_]]) -> None:
    with open_slide(he_slide[0]) as reader:
        tissue = detect_tissue(reader)
        report = assess_quality(reader, tissue, plan_tile_grid(reader, tissue))
    # The small synthetic slide has few 20x tiles; nothing else may be flagged.
    assert set(report.flags) <= {"little-tissue"}, report.messages
    assert report.out_of_focus_fraction == 0.0
    assert report.tiles_sampled > 0


def test_qc_flags_blur_pen_marks_and_missing_scale(tmp_path: Path) -> None:
    rgb, _ = synthetic_he(
        2048,
        1536,
        discs=((0.5, 0.55, 0.2),),
        nuclei_per_disc=900,
        pen_stroke=True,
        pen_width=40,
        blur=4.0,
    )
    path = write_pyramid(tmp_path / "blurred.tif", rgb, mpp=None, factors=(1, 4))
    with open_slide(path) as reader:
        tissue = detect_tissue(reader)
        grid = plan_tile_grid(reader, tissue)
        report = assess_quality(reader, tissue, grid)
    assert grid.mpp_assumed
    assert {"out-of-focus", "pen-marks", "mpp-missing"} <= set(report.flags)
    assert report.out_of_focus_fraction > 0.5
    assert report.state in ("warn", "fail")
    assert len(report.messages) == len(report.flags)
