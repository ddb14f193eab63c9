"""Per-tile feature extraction, storage (``.npz``) and validated loading.

Extraction overlaps reading with encoding: a reader thread decodes the next batches while the
encoder works on the current one, so the pipeline runs at the encoder's speed when decoding is the
cheaper of the two.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import zipfile
from pathlib import Path

import numpy as np

from inference.slides.encoders import PreparingEncoder, TileEncoder
from inference.slides.schema import FeatureStat, TileFeatures, TileGrid
from inference.slides.slide_reader import SlideReader
from inference.slides.tiles import ProgressCallback, TileBatch, iter_tile_batches

logger = logging.getLogger(__name__)

FEATURES_FORMAT = "oncoboard-slide-features/1"
_END = object()


def extract_tile_features(
    reader: SlideReader,
    grid: TileGrid,
    encoder: TileEncoder,
    *,
    batch_size: int = 64,
    prefetch_batches: int = 2,
    progress: ProgressCallback | None = None,
) -> TileFeatures:
    """Encode every tile of the grid.

    Args:
        reader: the open slide.
        grid: tissue tiles to encode.
        encoder: the tile encoder.
        batch_size: tiles per batch.
        prefetch_batches: batches decoded ahead of the encoder.
        progress: called with ``(tiles_done, tiles_total)`` after each encoded batch.

    Returns:
        Features with their coordinates and the encoder's name and version.
    """
    n = len(grid)
    out = np.zeros((n, encoder.dim), dtype=np.float32)
    # Input conversion (uint8 -> normalised tensor) runs in the reader thread when it can.
    preparing = encoder if isinstance(encoder, PreparingEncoder) else None
    batches: queue.Queue[object] = queue.Queue(maxsize=max(1, prefetch_batches))
    stop = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for batch in iter_tile_batches(reader, grid, batch_size=batch_size):
                item = (batch, preparing.prepare(batch.pixels) if preparing else batch.pixels)
                while not stop.is_set():
                    try:
                        batches.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            failure.append(exc)
        finally:
            batches.put(_END)

    worker = threading.Thread(target=produce, name="tile-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = batches.get()
            if item is _END:
                break
            assert isinstance(item, tuple)
            batch, payload = item
            assert isinstance(batch, TileBatch)
            if preparing is not None:
                feats = preparing.encode_prepared(payload)
            else:
                feats = encoder.encode(payload, grid.target_mpp)
            out[batch.start : batch.start + len(batch.coords)] = feats
            if progress:
                progress(batch.start + len(batch.coords), n)
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        worker.join()
    if failure:
        raise failure[0]
    if n == 0 and progress:
        progress(0, 0)
    return TileFeatures(
        coords=grid.coords.copy(),
        features=out,
        encoder_name=encoder.name,
        encoder_version=encoder.version,
        feature_names=tuple(encoder.feature_names),
        tile_size=grid.tile_size,
        level0_tile_size=grid.level0_tile_size,
        target_mpp=grid.target_mpp,
    )


def save_tile_features(features: TileFeatures, path: str | Path) -> str:
    """Write features to a compressed ``.npz`` (no pickled objects).

    Args:
        features: what to store.
        path: destination (``.npz``).

    Returns:
        The path written.
    """
    path = Path(path)
    with open(path, "wb") as fh:
        np.savez_compressed(
            fh,
            format=np.array(FEATURES_FORMAT),
            coords=features.coords.astype(np.int64),
            features=features.features.astype(np.float32),
            encoder_name=np.array(features.encoder_name),
            encoder_version=np.array(features.encoder_version),
            feature_names=np.array(features.feature_names, dtype=np.str_),
            tile_size=np.array(features.tile_size, dtype=np.int64),
            level0_tile_size=np.array(features.level0_tile_size, dtype=np.int64),
            target_mpp=np.array(features.target_mpp, dtype=np.float64),
        )
    return str(path)


class FeaturesFileError(ValueError):
    """A features file is missing, corrupt or inconsistent."""


def load_tile_features(path: str | Path) -> TileFeatures:
    """Load and validate a features file written by :func:`save_tile_features`.

    Args:
        path: the ``.npz``.

    Returns:
        The features.

    Raises:
        FeaturesFileError: wrong format, missing arrays, shapes that disagree, non-finite values.
    """
    try:
        with np.load(str(path), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FeaturesFileError(f"cannot read features file: {exc}") from None
    required = {
        "format", "coords", "features", "encoder_name", "encoder_version", "feature_names",
        "tile_size", "level0_tile_size", "target_mpp",
    }  # fmt: skip
    if missing := required - arrays.keys():
        raise FeaturesFileError(f"features file lacks {sorted(missing)}")
    if str(arrays["format"]) != FEATURES_FORMAT:
        raise FeaturesFileError(f"unknown features format {str(arrays['format'])!r}")
    coords, feats = arrays["coords"], arrays["features"]
    if coords.ndim != 2 or coords.shape[1] != 2 or coords.dtype != np.int64:
        raise FeaturesFileError("coords must be an (n, 2) int64 array")
    if feats.ndim != 2 or feats.shape[0] != coords.shape[0] or feats.dtype != np.float32:
        raise FeaturesFileError("features must be an (n, d) float32 array matching coords")
    if (coords < 0).any():
        raise FeaturesFileError("coords must be non-negative")
    if not np.isfinite(feats).all():
        raise FeaturesFileError("features contain NaN or infinity")
    names = tuple(str(x) for x in arrays["feature_names"].tolist())
    if names and len(names) != feats.shape[1]:
        raise FeaturesFileError("feature_names do not match the feature dimension")
    tile_size, level0 = int(arrays["tile_size"]), int(arrays["level0_tile_size"])
    target_mpp = float(arrays["target_mpp"])
    if tile_size <= 0 or level0 <= 0 or not target_mpp > 0:
        raise FeaturesFileError("tile sizes and target_mpp must be positive")
    return TileFeatures(
        coords=coords,
        features=feats,
        encoder_name=str(arrays["encoder_name"]),
        encoder_version=str(arrays["encoder_version"]),
        feature_names=names,
        tile_size=tile_size,
        level0_tile_size=level0,
        target_mpp=target_mpp,
    )


def summarize_features(features: TileFeatures) -> tuple[tuple[FeatureStat, ...], tuple[float, ...]]:
    """Per-feature statistics (named features only) and the mean feature vector.

    Args:
        features: per-tile features.

    Returns:
        ``(stats, mean_vector)``; both empty when there are no tiles.
    """
    f = features.features
    if len(f) == 0:
        return (), ()
    mean = f.mean(axis=0)
    stats: tuple[FeatureStat, ...] = ()
    if features.feature_names:
        std = f.std(axis=0)
        p10, p90 = np.percentile(f, [10, 90], axis=0)
        stats = tuple(
            FeatureStat(name=n, mean=float(m), std=float(s), p10=float(a), p90=float(b))
            for n, m, s, a, b in zip(features.feature_names, mean, std, p10, p90, strict=True)
        )
    return stats, tuple(float(x) for x in mean)
