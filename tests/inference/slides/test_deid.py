"""De-identified derivative: no label/macro, description reduced to an allowlist, no canary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from inference.slides.deid import DESCRIPTION_PREFIX, deidentify_slide, write_deidentified
from inference.slides.inspect import inspect_slide
from inference.slides.reader import open_slide
from inference.slides.schema import SlideLimits
from tests.inference.slides.synth import synthetic_he

CANARY = b"ZZCANARY"


def _canary_label(text: str, shape: tuple[int, int]) -> np.ndarray:
    """An uncompressed label image whose raw bytes spell the canary text, repeated."""
    raw = np.frombuffer((text.encode() * (shape[0] * shape[1] * 3))[: shape[0] * shape[1] * 3],
                        dtype=np.uint8)  # fmt: skip
    return raw.reshape(shape[0], shape[1], 3).copy()


@pytest.fixture(scope="module")
def svs_with_canaries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SVS-like TIFF: tiled base level, thumbnail, label and macro, canaries in metadata."""
    rgb, _ = synthetic_he(1024, 768, discs=((0.5, 0.5, 0.3),), nuclei_per_disc=300)
    description = (
        "Aperio Image Library v12.0.15 \r\n1024x768 [0,0 1024x768] (256x256) JPEG/RGB Q=70"
        "|AppMag = 20|StripeWidth = 1000|ScanScope ID = ZZCANARY-Scanner-1"
        "|Filename = ZZCANARY-Filename-1|Date = 01/02/26|Time = ZZCANARY-Time-1"
        "|User = ZZCANARY-User-1|Patient = ZZCANARY-Name-1|MPP = 0.4990"
        "|Rack = ZZCANARY-Date-1"
    )
    path = tmp_path_factory.mktemp("deid") / "canary.svs"
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            rgb,
            tile=(256, 256),
            compression="jpeg",
            photometric="rgb",
            description=description,
            metadata=None,
            software=False,
            extratags=[(315, "s", 0, "ZZCANARY-Artist-1", True)],
        )
        tif.write(
            rgb[::8, ::8].copy(),
            photometric="rgb",
            description="Aperio Image Library v12.0.15 \r\n1024x768 -> 128x96 - ",
            metadata=None,
            software=False,
        )
        # The associated images, as Aperio writes them: (canary text, (h, w), subfile type, name).
        for text, (h, w), subfiletype, name in (
            ("ZZCANARY-Label-1 ", (120, 100), 1, "label"),
            ("ZZCANARY-Macro-1 ", (100, 300), 9, "macro"),
        ):
            tif.write(
                _canary_label(text, (h, w)),
                photometric="rgb",
                subfiletype=subfiletype,
                description=f"Aperio Image Library v12.0.15\r\n{name} {w}x{h}",
                metadata=None,
                software=False,
            )
    assert path.read_bytes().count(CANARY) > 10
    return path


def test_the_generated_svs_carries_label_and_macro(svs_with_canaries: Path) -> None:
    info = inspect_slide(svs_with_canaries, SlideLimits(wall_seconds=10))
    assert info.format == "aperio-svs"
    assert {"label", "macro"} <= set(info.associated_images)


def test_no_canary_byte_survives_de_identification(svs_with_canaries: Path, tmp_path: Path) -> None:
    out = tmp_path / "deid.tif"
    result = write_deidentified(svs_with_canaries, out)
    data = out.read_bytes()
    assert CANARY not in data
    assert b"ZZCANARY" not in data.lower().upper()
    assert "ZZCANARY" not in result.description
    assert {"label", "macro", "thumbnail"} <= set(result.removed_associated_images)


def test_the_derivative_has_only_the_tissue_pyramid_and_technical_metadata(
    svs_with_canaries: Path, tmp_path: Path
) -> None:
    out = tmp_path / "deid.tif"
    result = write_deidentified(svs_with_canaries, out)
    assert result.description == (
        f"{DESCRIPTION_PREFIX}|Width = 1024|Height = 768|MPP = 0.499|AppMag = 20"
    )
    with tifffile.TiffFile(out) as tif:
        assert len(tif.series) == 1
        pages = [p for p in tif.pages if isinstance(p, tifffile.TiffPage)]
        assert len(pages) == len(tif.pages)
        assert all(p.is_tiled for p in pages)
        allowed_tags = {
            254, 256, 257, 258, 259, 262, 270, 277, 282, 283, 284, 296, 322, 323, 324, 325,
            347, 529, 530, 532,
        }  # fmt: skip
        for page in pages:
            assert set(page.tags.keys()) <= allowed_tags
    with open_slide(out) as reader:
        assert reader.info.mpp_x == pytest.approx(0.499)
        assert reader.info.objective_power == 20
        assert reader.info.associated_images == ()
        assert reader.level_count == result.levels == 2


def test_the_derivative_keeps_the_tissue_pixels(cmu_svs: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmu.tif"
    result = write_deidentified(cmu_svs, out)
    assert set(result.removed_associated_images) == {"label", "macro", "thumbnail"}
    with open_slide(cmu_svs) as src, open_slide(out) as dst:
        a = src.read_region(0, 600, 900, 512, 512).astype(np.int16)
        b = dst.read_region(0, 600, 900, 512, 512).astype(np.int16)
        assert (dst.info.width, dst.info.height) == (2220, 2967)
    # One JPEG re-encoding (quality 90, 4:2:0 chroma) away from the source.
    assert np.abs(a - b).mean() < 6.0


def test_it_reports_progress_to_completion(cmu_svs: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    write_deidentified(cmu_svs, tmp_path / "p.tif", progress=lambda d, t: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] > 0


def test_the_derivative_passes_inspection_and_opens_in_openslide_as_a_pyramid(
    cmu_svs: Path, tmp_path: Path
) -> None:
    import openslide

    out = tmp_path / "cmu.tif"
    result = write_deidentified(cmu_svs, out)
    info = inspect_slide(out, SlideLimits(wall_seconds=10))
    assert (info.format, info.associated_images) == ("generic-tiff", ())
    assert info.mpp_x == pytest.approx(0.499)
    slide = openslide.OpenSlide(str(out))
    try:
        assert slide.level_count == result.levels == 3
        assert slide.dimensions == (2220, 2967)
        assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.499)
        assert dict(slide.associated_images) == {}
    finally:
        slide.close()


def test_sandboxed_de_identification_relays_progress_and_leaks_nothing(
    svs_with_canaries: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sandboxed.tif"
    calls: list[tuple[int, int]] = []
    result = deidentify_slide(
        svs_with_canaries,
        out,
        limits=SlideLimits(wall_seconds=30, cpu_seconds=30),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert result.path == str(out.resolve())
    assert {"label", "macro"} <= set(result.removed_associated_images)
    assert CANARY not in out.read_bytes()
    assert calls and calls[-1][0] == calls[-1][1]
