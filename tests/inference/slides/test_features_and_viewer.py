"""Feature files, the whole pipeline, Deep Zoom tiles and heatmaps."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch
from PIL import Image

from inference.slides.deid import write_deidentified
from inference.slides.encoders import MorphologyEncoder
from inference.slides.errors import RegionOutOfBounds
from inference.slides.features import (
    FeaturesFileError,
    extract_tile_features,
    load_tile_features,
    save_tile_features,
)
from inference.slides.pipeline import process_slide
from inference.slides.reader import open_slide
from inference.slides.schema import TileFeatures
from inference.slides.tiles import iter_tile_batches, plan_tile_grid
from inference.slides.tissue import detect_tissue
from inference.slides.torch_encoders import (
    TorchEncoderConfig,
    TorchTileEncoder,
    build_encoder_model,
)
from inference.slides.viewer import encode_png, open_deepzoom, render_heatmap


@pytest.fixture(scope="module")
def cmu_deid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = Path(__file__).resolve().parents[2] / "fixtures" / "slides" / "CMU-1-Small-Region.svs"
    out = tmp_path_factory.mktemp("deid") / "cmu.tif"
    write_deidentified(source, out)
    return out


def _features(n: int = 5, d: int = 3) -> TileFeatures:
    return TileFeatures(
        coords=np.arange(2 * n, dtype=np.int64).reshape(n, 2) * 512,
        features=np.random.default_rng(0).random((n, d), dtype=np.float32),
        encoder_name="he-morphology",
        encoder_version="1",
        feature_names=tuple(f"f{i}" for i in range(d)),
        tile_size=256,
        level0_tile_size=512,
        target_mpp=0.5,
    )


def test_features_round_trip_through_npz(tmp_path: Path) -> None:
    original = _features()
    path = save_tile_features(original, tmp_path / "f.npz")
    loaded = load_tile_features(path)
    assert np.array_equal(loaded.coords, original.coords)
    assert np.array_equal(loaded.features, original.features)
    assert (loaded.encoder_name, loaded.encoder_version) == ("he-morphology", "1")
    assert loaded.feature_names == ("f0", "f1", "f2")
    assert (loaded.tile_size, loaded.level0_tile_size, loaded.target_mpp) == (256, 512, 0.5)


def test_the_loader_rejects_non_finite_features(tmp_path: Path) -> None:
    bad = _features()
    bad.features[1, 1] = np.nan
    path = save_tile_features(bad, tmp_path / "nan.npz")
    with pytest.raises(FeaturesFileError, match="NaN"):
        load_tile_features(path)


def test_the_loader_rejects_mismatched_shapes(tmp_path: Path) -> None:
    bad = replace(_features(), coords=np.zeros((4, 2), dtype=np.int64))
    path = save_tile_features(bad, tmp_path / "shape.npz")
    with pytest.raises(FeaturesFileError, match="matching coords"):
        load_tile_features(path)


def test_the_loader_rejects_pickled_arrays_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, coords=np.array([object()], dtype=object))
    with pytest.raises(FeaturesFileError):
        load_tile_features(path)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(FeaturesFileError):
        load_tile_features(junk)


def test_extraction_overlaps_reading_and_matches_direct_encoding(
    he_slide: tuple[Path, npt.NDArray[np.bool_]],
) -> None:
    cfg = TorchEncoderConfig(arch="cnn", image_size=64, widths=(8, 8, 16, 16))
    encoder = TorchTileEncoder(
        build_encoder_model(cfg), cfg, name="torch-cnn", version="test", device=torch.device("cpu")
    )
    calls: list[tuple[int, int]] = []
    with open_slide(he_slide[0]) as reader:
        grid = plan_tile_grid(reader, detect_tissue(reader), target_mpp=1.0, tile_size=128)
        feats = extract_tile_features(
            reader, grid, encoder, batch_size=4, progress=lambda d, t: calls.append((d, t))
        )
        tiles = np.concatenate([b.pixels for b in iter_tile_batches(reader, grid)])
    assert feats.features.shape == (len(grid), 16)
    assert np.allclose(feats.features, encoder.encode(tiles, 1.0), atol=1e-5)
    assert calls[-1] == (len(grid), len(grid))
    assert feats.encoder_name == "torch-cnn"


def test_process_slide_summarises_the_deidentified_slide(cmu_deid: Path, tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    summary = process_slide(
        cmu_deid, tmp_path / "features.npz", progress=lambda d, t: progress.append((d, t))
    )
    assert summary.tile_count > 10
    assert summary.qc.state == "pass", summary.qc.messages
    assert summary.tissue_area_mm2 is not None and 0.3 < summary.tissue_area_mm2 < 1.0
    assert summary.mpp == pytest.approx(0.499)
    assert summary.encoder_name == MorphologyEncoder().name
    stats = {s.name: s for s in summary.feature_stats}
    assert stats["nuclei_per_mm2"].mean > 100
    assert len(summary.mean_embedding) == MorphologyEncoder().dim
    stored = load_tile_features(summary.features_path)
    assert len(stored.coords) == summary.tile_count
    assert progress[-1] == (summary.tile_count, summary.tile_count)


def test_deep_zoom_descriptor_and_tiles(cmu_deid: Path) -> None:
    with open_deepzoom(cmu_deid) as dz:
        root = ET.fromstring(dz.dzi_xml())
        ns = "{http://schemas.microsoft.com/deepzoom/2008}"
        size = root.find(f"{ns}Size")
        assert size is not None and size.get("Width") == "2220" and size.get("Height") == "2967"
        assert dz.level_count == 13  # ceil(log2(2967)) + 1
        top = dz.level_count - 1
        cols, rows = dz.tile_count(top)
        assert (cols, rows) == (9, 12)
        inner = Image.open(io.BytesIO(dz.tile_jpeg(top, 1, 1)))
        assert inner.format == "JPEG" and inner.size == (256, 256)
        corner = dz.tile_pixels(top, cols - 1, rows - 1)
        assert corner.shape == (2967 - 254 * 11 + 1, 2220 - 254 * 8 + 1, 3)
        assert dz.tile_pixels(0, 0, 0).shape == (1, 1, 3)
        # Full resolution tile equals the slide's own pixels.
        with open_slide(cmu_deid) as reader:
            assert np.array_equal(
                dz.tile_pixels(top, 2, 3), reader.read_region(0, 507, 761, 256, 256)
            )


@pytest.mark.parametrize(
    "level,col,row", [(13, 0, 0), (-1, 0, 0), (12, 9, 0), (12, 0, 12), (3, -1, 0)]
)
def test_deep_zoom_refuses_tiles_outside_the_pyramid(
    cmu_deid: Path, level: int, col: int, row: int
) -> None:
    with open_deepzoom(cmu_deid) as dz, pytest.raises(RegionOutOfBounds):
        dz.tile_jpeg(level, col, row)


def test_the_heatmap_paints_each_tile_where_it_lies_on_the_thumbnail() -> None:
    coords = np.array([[0, 0], [512, 0], [0, 512]], dtype=np.int64)
    scores = np.array([0.0, 1.0, np.nan])
    overlay = render_heatmap(
        coords, scores, level0_tile_size=512, slide_size=(2048, 1024), overlay_size=(256, 128)
    )
    assert overlay.shape == (128, 256, 4)
    assert overlay[:64, :64, 3].min() > 0 and overlay[:64, 64:128, 3].min() > 0
    assert not np.array_equal(overlay[10, 10, :3], overlay[10, 100, :3])
    assert overlay[64:, :64, 3].max() == 0  # NaN score stays transparent
    assert overlay[:, 128:, 3].max() == 0  # no tile there
    img = Image.open(io.BytesIO(encode_png(overlay)))
    assert img.mode == "RGBA" and img.size == (256, 128)
