"""TIFF slides (Aperio SVS, OME-TIFF, generic pyramidal TIFF): physical metadata, pyramid pages
and :class:`TiffReader`, which reads the compressed tiles itself with ``os.pread`` and decodes them
in a thread pool (imagecodecs releases the GIL), caching decoded tiles so a tile shared by two
reads is decoded once. This is the fast path used for tiling.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.slides.errors import SlideUnreadable
from inference.slides.schema import SlideInfo, SlideLevel, SlideLimits
from inference.slides.slide_reader import BACKGROUND, RGB, SlideReader, default_threads

_DECODED_CACHE_BYTES = 192 * 1024**2
_PLAUSIBLE_MPP = (0.05, 50.0)
# --------------------------------------------------------------------------------------------
# TIFF metadata helpers (strings in these files are untrusted: bounded regexes, no XML parser).

_APERIO_MPP = re.compile(r"\|\s*MPP\s*=\s*([0-9]*\.?[0-9]+)")
_APERIO_MAG = re.compile(r"\|\s*AppMag\s*=\s*([0-9]*\.?[0-9]+)")
_OME_PIXELS = re.compile(r"<(?:\w+:)?Pixels\b[^>]{0,4000}>")
_OME_ATTR = re.compile(r'\b(PhysicalSize[XY](?:Unit)?)\s*=\s*"([^"]{0,32})"')
_OME_MAG = re.compile(r'NominalMagnification\s*=\s*"([0-9]*\.?[0-9]+)"')
_UNIT_TO_UM = {"\u00b5m": 1.0, "\u03bcm": 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3, "cm": 1e4}


def plausible_mpp(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value if _PLAUSIBLE_MPP[0] <= value <= _PLAUSIBLE_MPP[1] else None


def tiff_physical_metadata(tif: Any) -> tuple[float | None, float | None, float | None]:
    """Microns per pixel (x, y) and objective power from a tifffile ``TiffFile``.

    Looks, in order, at the Aperio description (``MPP``/``AppMag``), OME-XML ``PhysicalSizeX``,
    then the TIFF resolution tags (centimetre or inch units only).

    Returns:
        ``(mpp_x, mpp_y, objective_power)``, each ``None`` when the file does not say.
    """
    page = tif.pages.first
    desc = (page.description or "")[:1_000_000]
    mpp_x = mpp_y = mag = None
    if m := _APERIO_MPP.search(desc):
        mpp_x = mpp_y = plausible_mpp(float(m.group(1)))
    if m := _APERIO_MAG.search(desc):
        mag = float(m.group(1))
    if mpp_x is None and (pix := _OME_PIXELS.search(desc)):
        attrs = dict(_OME_ATTR.findall(pix.group(0)))
        scale_x = _UNIT_TO_UM.get(attrs.get("PhysicalSizeXUnit", "µm"))
        scale_y = _UNIT_TO_UM.get(attrs.get("PhysicalSizeYUnit", "µm"))
        try:
            if scale_x and "PhysicalSizeX" in attrs:
                mpp_x = plausible_mpp(float(attrs["PhysicalSizeX"]) * scale_x)
            if scale_y and "PhysicalSizeY" in attrs:
                mpp_y = plausible_mpp(float(attrs["PhysicalSizeY"]) * scale_y)
        except ValueError:
            mpp_x = mpp_y = None
        if mag is None and (m := _OME_MAG.search(desc)):
            mag = float(m.group(1))
    if mpp_x is None:
        tags = page.tags
        unit = tags.valueof(296, 2)
        per_unit_um = {3: 1e4, 2: 25_400.0}.get(int(unit)) if unit is not None else None
        xres, yres = tags.valueof(282), tags.valueof(283)
        if per_unit_um and xres and yres:
            try:
                fx = xres[0] / xres[1] if isinstance(xres, tuple) else float(xres)
                fy = yres[0] / yres[1] if isinstance(yres, tuple) else float(yres)
                if fx > 0 and fy > 0:
                    mpp_x = plausible_mpp(per_unit_um / fx)
                    mpp_y = plausible_mpp(per_unit_um / fy)
            except (TypeError, ZeroDivisionError):
                mpp_x = mpp_y = None
    if mpp_y is None:
        mpp_y = mpp_x
    if mag is not None and not 0.5 <= mag <= 200:
        mag = None
    return mpp_x, mpp_y, mag


def pyramid_pages(tif: Any, max_levels: int) -> tuple[list[Any], list[tuple[str, Any]]]:
    """Split a tifffile ``TiffFile`` into pyramid level pages and associated images.

    tifffile groups levels with one constant downsample factor; generic pyramids with uneven
    factors (1, 2, 8) come back as separate series, which are merged here when they are tiled,
    reduced-resolution, smaller than the previous level and of the same aspect ratio.

    Returns:
        ``(level keyframes, [(name, keyframe)] of the other images)``.
    """
    series = tif.series
    levels = [lvl.keyframe for lvl in series[0].levels[:max_levels]]
    others: list[tuple[str, Any]] = []
    base = levels[0]
    aspect = base.imagewidth / max(base.imagelength, 1)
    for i, s in enumerate(series[1:], 1):
        page = s.keyframe
        last = levels[-1]
        is_level = (
            page.is_tiled
            and page.is_reduced
            and page.samplesperpixel == base.samplesperpixel
            and page.dtype == base.dtype
            and page.imagewidth < last.imagewidth
            and page.imagelength < last.imagelength
            and abs(page.imagewidth / max(page.imagelength, 1) - aspect) < 0.02 * aspect
            and (s.name or "").lower() not in ("label", "macro", "thumbnail")
            and len(levels) < max_levels
        )
        if is_level:
            levels.append(page)
        else:
            others.append(((s.name or "").lower() or f"image-{i}", page))
    return levels, others


def write_pyramid_level(
    tif: Any,
    data: npt.NDArray[np.uint8] | Iterator[bytes],
    *,
    index: int,
    tile: int,
    downsample: int,
    mpp: float | None,
    description: str,
    shape: tuple[int, int, int] | None = None,
    compression: str = "jpeg",
) -> None:
    """Write one level of a tiled pyramidal RGB TIFF as :func:`pyramid_pages` and OpenSlide read it.

    Levels go in the main IFD chain (level 0 full resolution, the others reduced-resolution
    subfiles); only level 0 carries the image description; tifffile's own metadata and software
    tag are left out; the resolution tags hold pixels per centimetre when the mpp is known.

    Args:
        tif: an open ``tifffile.TiffWriter``.
        data: the level's pixels, or its encoded tiles in row-major order (then ``shape``).
        index: the level's position in the pyramid (0 first).
        tile: tile side in pixels.
        downsample: the level's downsample from level 0.
        mpp: level-0 microns per pixel (``None``: no resolution tags).
        description: ImageDescription of level 0.
        shape: ``(height, width, 3)`` when ``data`` is encoded tiles.
        compression: tifffile compression name.
    """
    resolution = None if mpp is None else (1e4 / (mpp * downsample),) * 2
    tif.write(
        data,
        shape=shape,
        dtype=np.uint8,
        tile=(tile, tile),
        compression=compression,
        photometric="rgb",
        subfiletype=1 if index else 0,
        description=description if index == 0 else None,
        metadata=None,
        software=False,
        resolution=resolution,
        resolutionunit=3 if resolution else None,
    )


def openslide_vendor(path: str | Path) -> str | None:
    """OpenSlide's vendor name for the file (reads the header only), ``None`` if unknown."""
    try:
        import openslide

        vendor = openslide.OpenSlide.detect_format(str(path))
    except Exception:  # noqa: BLE001 - any failure means "OpenSlide does not know it"
        return None
    return str(vendor) if vendor else None


class TiffReader(SlideReader):
    """tifffile-backed reader with threaded tile decoding and a decoded-tile cache.

    Args:
        path: an accepted TIFF file.
        limits: read limits.
        threads: decoder threads (default: usable CPUs, at most 8).
    """

    def __init__(
        self, path: str | Path, limits: SlideLimits | None = None, *, threads: int | None = None
    ) -> None:
        import tifffile

        self.path = str(path)
        self.limits = limits or SlideLimits()
        self._tif = tifffile.TiffFile(self.path)
        self._fd = os.open(self.path, os.O_RDONLY)
        self._file_bytes = os.fstat(self._fd).st_size
        try:
            self._setup()
        except Exception:
            self.close()
            raise
        self.threads = threads or default_threads()
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self._cache: OrderedDict[tuple[int, int], RGB] = OrderedDict()
        self._cache_bytes = 0
        self._lock = threading.Lock()

    def _setup(self) -> None:
        tif = self._tif
        if not tif.series:
            raise SlideUnreadable("malformed", "the TIFF file contains no image")
        level_pages, others = pyramid_pages(tif, self.limits.max_levels)
        pages = []
        for page in level_pages:
            if page.dtype is None or np.dtype(page.dtype) != np.uint8:
                raise SlideUnreadable(
                    "unsupported", "only 8-bit brightfield images (H&E, IHC) are supported"
                )
            if page.samplesperpixel not in (1, 3, 4) or (
                page.samplesperpixel > 1 and page.planarconfig != 1
            ):
                raise SlideUnreadable(
                    "unsupported",
                    "only RGB or greyscale images with interleaved samples are supported",
                )
            pages.append(page)
        self._pages = pages
        base_w = pages[0].imagewidth
        levels = []
        self._grid: list[tuple[int, int, int, int]] = []
        for page in pages:
            if page.is_tiled:
                tw, th = page.tilewidth, page.tilelength
            else:
                tw, th = (
                    page.imagewidth,
                    min(page.rowsperstrip or page.imagelength, page.imagelength),
                )
            ncols = math.ceil(page.imagewidth / tw)
            nrows = math.ceil(page.imagelength / th)
            if len(page.dataoffsets) < ncols * nrows:
                raise SlideUnreadable("truncated", "the image has fewer tiles than it declares")
            self._grid.append((tw, th, ncols, nrows))
            levels.append(
                SlideLevel(
                    width=page.imagewidth,
                    height=page.imagelength,
                    downsample=base_w / page.imagewidth,
                    tile_width=tw,
                    tile_height=th,
                )
            )
        mpp_x, mpp_y, mag = tiff_physical_metadata(tif)
        fmt = "aperio-svs" if tif.is_svs else "ome-tiff" if tif.is_ome else "generic-tiff"
        associated = tuple(name for name, _ in others)
        self.info = SlideInfo(
            format=fmt,
            reader="tifffile",
            width=pages[0].imagewidth,
            height=pages[0].imagelength,
            levels=tuple(levels),
            mpp_x=mpp_x,
            mpp_y=mpp_y,
            objective_power=mag,
            associated_images=associated,
            compression=_compression_name(pages[0].compression),
            file_bytes=self._file_bytes,
            vendor=openslide_vendor(self.path),
        )

    def close(self) -> None:
        """Close the file and stop the decoder threads."""
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)
            self._pool = None
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)
            self._fd = -1
        self._tif.close()

    @property
    def description(self) -> str:
        """The raw image description of the first page (untrusted text)."""
        return str(self._tif.pages.first.description or "")

    def _decode_segment(self, level: int, index: int) -> RGB | None:
        page = self._pages[level]
        offset, count = int(page.dataoffsets[index]), int(page.databytecounts[index])
        if count == 0 or offset == 0:
            return None  # sparse tile: background
        if count > self.limits.max_segment_bytes or offset + count > self._file_bytes:
            raise SlideUnreadable("malformed", "a tile points outside the file")
        data = os.pread(self._fd, count, offset)
        if len(data) != count:
            raise SlideUnreadable("truncated", "the file ends inside a tile")
        decoded, _, _ = page.decode(data, index, jpegtables=page.jpegtables)
        if decoded is None:
            return None
        arr = np.asarray(decoded)
        # tifffile returns (depth, height, width, samples); keep (height, width, samples).
        arr = arr.reshape(arr.shape[-3:]) if arr.ndim > 3 else arr
        if arr.ndim == 2:
            arr = arr[:, :, None]
        tw, th, ncols, _ = self._grid[level]
        rows_here = min(th, self.info.levels[level].height - (index // ncols) * th)
        if arr.shape[0] < rows_here or arr.shape[1] < min(tw, page.imagewidth):
            # Never hand out a region with parts that no tile wrote.
            raise SlideUnreadable("malformed", "a tile decodes to fewer pixels than declared")
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        elif arr.shape[2] == 4:
            arr = arr[:, :, :3]
        return np.ascontiguousarray(arr)

    def _segments(self, level: int, indices: Sequence[int]) -> dict[int, RGB | None]:
        got: dict[int, RGB | None] = {}
        missing: list[int] = []
        with self._lock:
            for idx in indices:
                key = (level, idx)
                if key in self._cache:
                    self._cache.move_to_end(key)
                    got[idx] = self._cache[key]
                else:
                    missing.append(idx)
        if missing:
            decode: Callable[[int], RGB | None] = lambda i: self._decode_segment(level, i)  # noqa: E731
            if self._pool is not None and len(missing) > 1:
                results = list(self._pool.map(decode, missing))
            else:
                results = [decode(i) for i in missing]
            with self._lock:
                for idx, arr in zip(missing, results, strict=True):
                    got[idx] = arr
                    if arr is not None:
                        self._cache[(level, idx)] = arr
                        self._cache_bytes += arr.nbytes
                while self._cache_bytes > _DECODED_CACHE_BYTES and self._cache:
                    _, old = self._cache.popitem(last=False)
                    self._cache_bytes -= old.nbytes
        return got

    def _covering(self, level: int, x0: int, y0: int, x1: int, y1: int) -> list[int]:
        tw, th, ncols, nrows = self._grid[level]
        c0, c1 = max(0, x0 // tw), min(ncols - 1, (x1 - 1) // tw)
        r0, r1 = max(0, y0 // th), min(nrows - 1, (y1 - 1) // th)
        return [r * ncols + c for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]

    def prefetch(self, level: int, rects: Sequence[tuple[int, int, int, int]]) -> None:
        """Decode, in parallel, every native tile under these regions into the cache."""
        if not 0 <= level < self.level_count:
            return
        wanted: dict[int, None] = {}
        for x0, y0, x1, y1 in rects:
            if x1 > x0 and y1 > y0:
                wanted.update(dict.fromkeys(self._covering(level, x0, y0, x1, y1)))
        if wanted:
            self._segments(level, list(wanted))

    def _read_clipped(self, level: int, x0: int, y0: int, x1: int, y1: int) -> RGB:
        tw, th, ncols, _ = self._grid[level]
        indices = self._covering(level, x0, y0, x1, y1)
        segments = self._segments(level, indices)
        # Decoded tiles cover the whole clipped region unless one is sparse (background).
        if any(segments[i] is None for i in indices):
            out = np.full((y1 - y0, x1 - x0, 3), BACKGROUND, dtype=np.uint8)
        else:
            out = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
        for idx in indices:
            arr = segments[idx]
            if arr is None:
                continue
            r, c = divmod(idx, ncols)
            sx, sy = c * tw, r * th
            ax0, ay0 = max(x0, sx), max(y0, sy)
            ax1, ay1 = min(x1, sx + arr.shape[1]), min(y1, sy + arr.shape[0])
            if ax1 > ax0 and ay1 > ay0:
                out[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = arr[
                    ay0 - sy : ay1 - sy, ax0 - sx : ax1 - sx
                ]
        return out


def _compression_name(code: int) -> str:
    names = {1: "none", 5: "lzw", 7: "jpeg", 8: "deflate", 32946: "deflate", 33003: "jpeg2000",
             33005: "jpeg2000", 34712: "jpeg2000", 50001: "webp", 50002: "jpegxl"}  # fmt: skip
    return names.get(int(code), f"tiff-{int(code)}")
