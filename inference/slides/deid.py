"""De-identified derivative of a slide: tissue pyramid only, technical metadata only.

Slides carry identifiers outside the tissue image: the label photograph (often a patient name or
accession number), the macro image of the whole glass slide (showing the label), the thumbnail and
free-text metadata (file name, date, time, operator, scanner). The derivative is re-encoded from
pixels -- no tag, directory or byte range of the source is copied -- so nothing can survive unless
it is written on purpose. What is written on purpose is an allowlist of numbers: microns per pixel,
objective magnification, dimensions.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from inference.slides.reader import open_slide
from inference.slides.sandbox import run_sandboxed
from inference.slides.schema import DeidentifiedSlide, SlideLimits
from inference.slides.slide_reader import SlideReader
from inference.slides.tiff import write_pyramid_level
from inference.slides.tiles import ProgressCallback

logger = logging.getLogger(__name__)

#: Pyramid levels are each this factor smaller than the previous one.
LEVEL_FACTOR = 4
DESCRIPTION_PREFIX = "OncoBoard de-identified slide"


def technical_description(
    width: int, height: int, mpp: float | None, objective_power: float | None
) -> str:
    """The only image description written: numbers from a fixed allowlist of keys.

    The ``|key = value`` layout is the Aperio one, so other software reads MPP and AppMag too.
    """
    parts = [DESCRIPTION_PREFIX, f"Width = {int(width)}", f"Height = {int(height)}"]
    if mpp is not None:
        parts.append(f"MPP = {float(mpp):.6g}")
    if objective_power is not None:
        parts.append(f"AppMag = {float(objective_power):g}")
    return "|".join(parts)


def _level_shapes(width: int, height: int, tile: int) -> list[tuple[int, int, int]]:
    """(width, height, downsample) per written level, down to one tile."""
    shapes = [(width, height, 1)]
    ds = 1
    while max(shapes[-1][0], shapes[-1][1]) > tile:
        ds *= LEVEL_FACTOR
        shapes.append((max(1, -(-width // ds)), max(1, -(-height // ds)), ds))
    return shapes


def _level_tiles(
    reader: SlideReader, level_w: int, level_h: int, ds: int, tile: int
) -> Iterator[np.ndarray]:
    """Tiles of one output level, row-major, read from the best source level."""
    src_level = reader.best_level_for_downsample(ds)
    src_ds = reader.info.levels[src_level].downsample
    factor = ds / src_ds  # source-level pixels per output pixel
    cols = -(-level_w // tile)
    rows = -(-level_h // tile)
    chunk = max(1, int(4096 // (tile * factor)))  # output tiles per source read
    for r in range(rows):
        for c0 in range(0, cols, chunk):
            n = min(chunk, cols - c0)
            sx, sy = round(c0 * tile * factor), round(r * tile * factor)
            sw, sh = round(n * tile * factor), round(tile * factor)
            region = reader.read_region(src_level, sx, sy, sw, sh)
            if (sw, sh) != (n * tile, tile):
                region = np.asarray(
                    Image.fromarray(region).resize((n * tile, tile), Image.Resampling.BOX)
                )
            for k in range(n):
                block = region[:, k * tile : (k + 1) * tile]
                # Beyond the level's edge stays white, not stretched content.
                valid_w = min(tile, level_w - (c0 + k) * tile)
                valid_h = min(tile, level_h - r * tile)
                if valid_w < tile or valid_h < tile:
                    block = block.copy()
                    block[valid_h:] = 255
                    block[:, valid_w:] = 255
                yield block


#: De-identification reads every pixel: limits sized for a large slide, not for a header check.
DEID_LIMITS = SlideLimits(cpu_seconds=3 * 3600, wall_seconds=2 * 3600.0)


def deidentify_slide(
    source: str | Path,
    destination: str | Path,
    *,
    limits: SlideLimits = DEID_LIMITS,
    tile_size: int = 256,
    quality: int = 90,
    progress: ProgressCallback | None = None,
) -> DeidentifiedSlide:
    """:func:`write_deidentified` in the sandbox: the upload's pixels are decoded by a child.

    Use this on uploads (after :func:`~inference.slides.inspect.inspect_slide`): a tile deep in
    the file that crashes its decoder fails the job with :class:`SlideUnreadable` instead of
    killing the worker. Progress calls are relayed from the child.

    Args:
        source: the uploaded slide.
        destination: the TIFF to write.
        limits: resource limits of the child (default: generous CPU and wall time).
        tile_size: tile side of the output.
        quality: JPEG quality of the output tiles.
        progress: called with ``(tiles_done, tiles_total)``.

    Returns:
        What was written.
    """
    result = run_sandboxed(
        "inference.slides.deid:deidentify_in_child",
        {
            "source": str(Path(source).resolve()),
            "destination": str(Path(destination).resolve()),
            "limits": asdict(limits),
            "tile_size": tile_size,
            "quality": quality,
        },
        limits,
        progress=progress,
    )
    result["removed_associated_images"] = tuple(result["removed_associated_images"])
    return DeidentifiedSlide(**result)


def deidentify_in_child(
    source: str,
    destination: str,
    limits: dict[str, object],
    tile_size: int,
    quality: int,
    progress: ProgressCallback | None = None,
) -> dict[str, object]:
    """Child side of :func:`deidentify_slide`."""
    written = write_deidentified(
        source,
        destination,
        limits=SlideLimits(**limits),  # type: ignore[arg-type]
        tile_size=tile_size,
        quality=quality,
        progress=progress,
    )
    return asdict(written)


def write_deidentified(
    source: str | Path,
    destination: str | Path,
    *,
    limits: SlideLimits | None = None,
    tile_size: int = 256,
    quality: int = 90,
    progress: ProgressCallback | None = None,
) -> DeidentifiedSlide:
    """Write a de-identified pyramidal tiled TIFF of a slide that inspection accepted.

    Args:
        source: the uploaded slide.
        destination: the TIFF to write (written to a temporary name, then renamed).
        limits: read limits.
        tile_size: tile side of the output.
        quality: JPEG quality of the output tiles.
        progress: called with ``(tiles_done, tiles_total)``.

    Returns:
        What was written: path, sha256, size, levels, the kept description and what was dropped.
    """
    import imagecodecs
    import tifffile

    destination = Path(destination)
    partial = destination.with_name(destination.name + ".partial")
    with open_slide(source, limits) as reader:
        info = reader.info
        mpp = info.mpp_x
        mag = info.objective_power
        description = technical_description(info.width, info.height, mpp, mag)
        shapes = _level_shapes(info.width, info.height, tile_size)
        total = sum((-(-w // tile_size)) * (-(-h // tile_size)) for w, h, _ in shapes)
        done = 0
        bigtiff = info.width * info.height * 3 > 2**31
        pool = ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1)))

        def encode(block: np.ndarray) -> bytes:
            return bytes(imagecodecs.jpeg8_encode(np.ascontiguousarray(block), level=quality))

        def encoded(w: int, h: int, ds: int) -> Iterator[bytes]:
            nonlocal done
            for data in pool.map(encode, _level_tiles(reader, w, h, ds, tile_size)):
                done += 1
                if progress and done % 256 == 0:
                    progress(done, total)
                yield data

        try:
            with tifffile.TiffWriter(partial, bigtiff=bigtiff) as tif:
                for i, (w, h, ds) in enumerate(shapes):
                    write_pyramid_level(
                        tif,
                        encoded(w, h, ds),
                        index=i,
                        tile=tile_size,
                        downsample=ds,
                        mpp=mpp,
                        description=description,
                        shape=(h, w, 3),
                    )
        finally:
            pool.shutdown(wait=True)
        removed = info.associated_images
    os.replace(partial, destination)
    if progress:
        progress(total, total)
    with open(destination, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256")
    logger.info(
        "de-identified slide written: %d levels, dropped %s", len(shapes), ", ".join(removed)
    )
    return DeidentifiedSlide(
        path=str(destination),
        sha256=digest.hexdigest(),
        width=info.width,
        height=info.height,
        levels=len(shapes),
        description=description,
        removed_associated_images=removed,
        mpp=mpp,
        objective_power=mag,
    )
