"""Sandboxed inspection: real slides pass, hostile files are refused fast, crashes contained."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image

from inference.slides.errors import SlideUnreadable
from inference.slides.inspect import inspect_slide
from inference.slides.sandbox import run_sandboxed
from inference.slides.schema import SlideLimits
from tests.inference.slides.hostile import (
    bigtiff_with_bogus_offset,
    png_bomb,
    tiled_tiff,
    truncated_copy,
)

FAST = SlideLimits(wall_seconds=8.0, cpu_seconds=6, memory_bytes=768 * 1024**2)
HOOKS = "tests.inference.slides.hooks"


def _refused(path: Path, reason: str, limits: SlideLimits = FAST, **kw: str) -> SlideUnreadable:
    start = time.monotonic()
    with pytest.raises(SlideUnreadable) as info:
        inspect_slide(path, limits, **kw)
    assert time.monotonic() - start < 10, "hostile file was not refused within seconds"
    assert info.value.reason == reason, str(info.value)
    assert str(info.value).startswith("this file could not be read: ")
    return info.value


def test_it_accepts_the_real_svs_with_its_scale_and_associated_images(cmu_svs: Path) -> None:
    info = inspect_slide(cmu_svs, FAST)
    assert (info.format, info.reader, info.vendor) == ("aperio-svs", "tifffile", "aperio")
    assert (info.width, info.height) == (2220, 2967)
    assert info.mpp_x == pytest.approx(0.499)
    assert info.objective_power == 20
    assert set(info.associated_images) == {"label", "macro", "thumbnail"}


def test_it_accepts_the_real_ome_tiff_crop(ome_crop: Path) -> None:
    info = inspect_slide(ome_crop, FAST)
    assert info.format == "ome-tiff"
    assert info.mpp_x == pytest.approx(0.227, abs=1e-3)


def test_it_decides_by_content_not_by_name(cmu_svs: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "scan.jpg"
    disguised.write_bytes(cmu_svs.read_bytes())
    assert inspect_slide(disguised, FAST).format == "aperio-svs"


def test_it_rejects_a_png_named_svs_that_is_too_large(tmp_path: Path) -> None:
    # A small PNG declaring 20000 x 20000 pixels (a decompression bomb) named like a slide.
    path = png_bomb(tmp_path / "slide.svs")
    assert path.stat().st_size < 50_000
    with pytest.raises(Image.DecompressionBombError):  # Pillow's own guard is on, too
        Image.open(path)
    _refused(path, "too-large")


def test_it_accepts_a_small_png_micrograph_named_svs(tmp_path: Path) -> None:
    path = tmp_path / "slide.svs"
    Image.new("RGB", (300, 200), (200, 120, 180)).save(path, format="PNG")
    info = inspect_slide(path, FAST)
    assert (info.format, info.reader, info.width) == ("png", "pillow", 300)


def test_it_rejects_an_html_page_named_svs(tmp_path: Path) -> None:
    path = tmp_path / "slide.svs"
    path.write_text("<!DOCTYPE html><html><body>login</body></html>")
    error = _refused(path, "not-a-slide")
    assert "HTML" in str(error)


def test_it_rejects_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "slide.svs"
    path.write_bytes(b"")
    _refused(path, "not-a-slide")


def test_it_rejects_a_truncated_svs(cmu_svs: Path, tmp_path: Path) -> None:
    # Aperio writes its directories after the pixel data: the cut removes them all.
    path = truncated_copy(cmu_svs, tmp_path / "cut.svs", 400_000)
    _refused(path, "truncated")


def test_it_rejects_a_pyramid_cut_inside_its_tiles(
    he_slide: tuple[Path, object], tmp_path: Path
) -> None:
    source = he_slide[0]
    path = truncated_copy(source, tmp_path / "cut.tif", source.stat().st_size // 3)
    _refused(path, "truncated")


def test_it_rejects_a_tiff_declaring_a_million_pixels_a_side_with_1kb_of_data(
    tmp_path: Path,
) -> None:
    path = tiled_tiff(tmp_path / "huge.tif", width=10**6, height=10**6, tile=256, payload=1024)
    assert path.stat().st_size < 2048
    error = _refused(path, "too-large")
    assert "1000000 x 1000000" in str(error)


def test_it_rejects_an_absurd_tile_size(tmp_path: Path) -> None:
    path = tiled_tiff(tmp_path / "tile.tif", tile=2**30)
    _refused(path, "malformed")


def test_it_rejects_a_directory_loop(tmp_path: Path) -> None:
    path = tiled_tiff(tmp_path / "loop.tif", n_ifds=3, loop=True)
    error = _refused(path, "malformed")
    assert "loops" in str(error)


def test_it_rejects_ten_thousand_directories(tmp_path: Path) -> None:
    path = tiled_tiff(tmp_path / "many.tif", n_ifds=10_000)
    _refused(path, "too-large")


def test_it_rejects_65535_samples_per_pixel(tmp_path: Path) -> None:
    _refused(tiled_tiff(tmp_path / "spp.tif", spp=65535), "malformed")


def test_it_rejects_a_tile_table_that_does_not_match_the_image(tmp_path: Path) -> None:
    # 64 x 64 in 16 px tiles needs 16 tiles; the table lists one.
    _refused(tiled_tiff(tmp_path / "short.tif", width=64, height=64), "malformed")


def test_it_rejects_a_bigtiff_with_a_bogus_offset(tmp_path: Path) -> None:
    _refused(bigtiff_with_bogus_offset(tmp_path / "big.tif"), "truncated")


def test_it_turns_a_segfaulting_reader_into_a_clean_error(tmp_path: Path) -> None:
    path = tiled_tiff(tmp_path / "ok.tif")
    error = _refused(path, "crashed", target=f"{HOOKS}:segfault")
    assert "crashed" in str(error)


def test_it_stops_a_reader_that_hangs(tmp_path: Path) -> None:
    path = tiled_tiff(tmp_path / "ok.tif")
    limits = SlideLimits(wall_seconds=3.0, cpu_seconds=2, memory_bytes=768 * 1024**2)
    error = _refused(path, "timeout", limits, target=f"{HOOKS}:spin")
    assert "longer" in str(error) or "processor time" in str(error)


@pytest.mark.slow
def test_it_kills_the_whole_process_group_of_a_hung_reader(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    limits = SlideLimits(wall_seconds=3.0, cpu_seconds=2, memory_bytes=768 * 1024**2)
    _refused(pid_file, "timeout", limits, target=f"{HOOKS}:sleep_with_grandchild")
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # A killed child of an exited parent is a zombie until init reaps it.
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().split()[2] == "Z":
                return
        time.sleep(0.1)
    pytest.fail("the grandchild of the sandboxed reader survived")


def test_it_bounds_the_memory_of_the_reader(tmp_path: Path) -> None:
    path = tiled_tiff(tmp_path / "ok.tif")
    _refused(path, "out-of-memory", target=f"{HOOKS}:allocate")


def test_it_refuses_targets_outside_the_allowlist(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        inspect_slide(tmp_path / "x", FAST, target="os:system")


def test_a_dicom_file_without_a_slide_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "slide.dcm"
    path.write_bytes(bytes(128) + b"DICM" + bytes(64))
    error = _refused(path, "not-a-slide")
    assert "not a DICOM whole-slide image" in str(error)


def test_the_sandbox_relays_progress_from_the_child(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    result = run_sandboxed(
        f"{HOOKS}:report_progress",
        {"path": str(tmp_path), "limits": {}},
        FAST,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert result == {"steps": 3}
    assert calls == [(1, 3), (2, 3), (3, 3)]
