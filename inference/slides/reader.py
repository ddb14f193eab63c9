"""Read pixels from a slide file that inspection has accepted.

Three backends behind one interface, chosen by content (:mod:`inference.slides.sniff`):

- :class:`TiffReader` (tifffile + imagecodecs) for every TIFF: Aperio SVS, OME-TIFF, generic
  pyramidal TIFF. It reads the compressed tiles itself with ``os.pread`` and decodes them in a
  thread pool (imagecodecs releases the GIL), caching decoded tiles so a tile shared by two reads
  is decoded once. This is the fast path used for tiling.
- :class:`OpenSlideReader` (openslide-python + openslide-bin) for the vendor formats OpenSlide
  knows; also a cross-check of the TIFF reader in the tests.
- :class:`PillowReader` for JPEG/PNG micrographs; Pillow's ``MAX_IMAGE_PIXELS`` stays set.

Every read is bounded: a region larger than ``SlideLimits.max_region_pixels`` is refused, and
areas outside the slide come back as white background.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from inference.slides.errors import RegionOutOfBounds, SlideUnreadable
from inference.slides.schema import SlideInfo, SlideLevel, SlideLimits, Thumbnail
from inference.slides.sniff import describe_unknown, sniff_file

logger = logging.getLogger(__name__)

RGB = npt.NDArray[np.uint8]
BACKGROUND = 255
_DECODED_CACHE_BYTES = 192 * 1024**2
_PLAUSIBLE_MPP = (0.05, 50.0)


def default_threads() -> int:
    """Decoder threads: the CPUs this process may use, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


class SlideReader(ABC):
    """Common interface and bounds checks of all backends.

    Subclasses set :attr:`info` and implement :meth:`_read_clipped`.
    """

    info: SlideInfo
    limits: SlideLimits

    def __enter__(self) -> SlideReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (backends holding a handle override this)."""
        return None

    @property
    def level_count(self) -> int:
        """Number of pyramid levels."""
        return len(self.info.levels)

    def best_level_for_downsample(self, downsample: float) -> int:
        """The coarsest level whose downsample does not exceed ``downsample`` (1 % tolerance).

        Args:
            downsample: wanted level-0 pixels per output pixel.

        Returns:
            The level index.
        """
        best = 0
        for i, level in enumerate(self.info.levels):
            if level.downsample <= downsample * 1.01:
                best = i
        return best

    def read_region(self, level: int, x: int, y: int, width: int, height: int) -> RGB:
        """Read an RGB region of one level.

        Args:
            level: pyramid level.
            x: left edge in that level's pixels (may be negative).
            y: top edge in that level's pixels (may be negative).
            width: region width, at least 1.
            height: region height, at least 1.

        Returns:
            ``(height, width, 3)`` uint8; parts outside the slide are white.

        Raises:
            RegionOutOfBounds: bad level, empty region or more than ``max_region_pixels``.
        """
        if not 0 <= level < self.level_count:
            raise RegionOutOfBounds(f"level {level} does not exist (0..{self.level_count - 1})")
        if width < 1 or height < 1:
            raise RegionOutOfBounds("region must be at least 1 x 1 pixel")
        if width * height > self.limits.max_region_pixels:
            raise RegionOutOfBounds(
                f"region {width} x {height} exceeds {self.limits.max_region_pixels} pixels"
            )
        out = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
        lv = self.info.levels[level]
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, lv.width), min(y + height, lv.height)
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self._read_clipped(level, x0, y0, x1, y1)
        return out

    @abstractmethod
    def _read_clipped(self, level: int, x0: int, y0: int, x1: int, y1: int) -> RGB:
        """Pixels of ``level`` in ``[x0, x1) x [y0, y1)``, already inside the level's bounds."""

    def prefetch(self, level: int, rects: Sequence[tuple[int, int, int, int]]) -> None:
        """Hint that these ``(x0, y0, x1, y1)`` regions of ``level`` are about to be read.

        Backends that can decode in parallel do so now; the default does nothing.
        """
        return None

    def read_downsampled(self, downsample: float) -> tuple[RGB, float]:
        """Read the whole slide at about ``downsample`` level-0 pixels per pixel.

        Reads from the best pyramid level block by block, so memory stays bounded even for a
        slide without a pyramid.

        Args:
            downsample: wanted level-0 pixels per output pixel (>= 1).

        Returns:
            The RGB image and its exact downsample (level-0 width / image width).
        """
        downsample = max(1.0, downsample)
        level = self.best_level_for_downsample(downsample)
        lv = self.info.levels[level]
        factor = downsample / lv.downsample
        out_w = max(1, round(lv.width / factor))
        out_h = max(1, round(lv.height / factor))
        if out_w * out_h > self.limits.max_region_pixels:
            raise RegionOutOfBounds(f"downsampled image {out_w} x {out_h} is too large")
        if factor <= 1.0001:
            return self.read_region(level, 0, 0, lv.width, lv.height), self.info.width / lv.width
        out = np.empty((out_h, out_w, 3), dtype=np.uint8)
        # Blocks aligned to output pixels so that no output pixel straddles two reads.
        block_out = max(1, int(2048 // factor))
        for oy in range(0, out_h, block_out):
            for ox in range(0, out_w, block_out):
                bw, bh = min(block_out, out_w - ox), min(block_out, out_h - oy)
                sx, sy = round(ox * factor), round(oy * factor)
                sw = max(1, round((ox + bw) * factor) - sx)
                sh = max(1, round((oy + bh) * factor) - sy)
                region = self.read_region(level, sx, sy, sw, sh)
                img = Image.fromarray(region).resize((bw, bh), Image.Resampling.BOX)
                out[oy : oy + bh, ox : ox + bw] = np.asarray(img)
        return out, self.info.width / out_w

    def thumbnail(self, max_side: int = 1024) -> Thumbnail:
        """A thumbnail whose longer side is ``max_side`` pixels (or the slide's, if smaller).

        Args:
            max_side: longest side of the thumbnail.

        Returns:
            The thumbnail and its downsample.
        """
        longest = max(self.info.width, self.info.height)
        pixels, downsample = self.read_downsampled(max(1.0, longest / max_side))
        return Thumbnail(pixels=pixels, downsample=downsample)


# --------------------------------------------------------------------------------------------
# TIFF metadata helpers (strings in these files are untrusted: bounded regexes, no XML parser).

_APERIO_MPP = re.compile(r"\|\s*MPP\s*=\s*([0-9]*\.?[0-9]+)")
_APERIO_MAG = re.compile(r"\|\s*AppMag\s*=\s*([0-9]*\.?[0-9]+)")
_OME_PIXELS = re.compile(r"<(?:\w+:)?Pixels\b[^>]{0,4000}>")
_OME_ATTR = re.compile(r'\b(PhysicalSize[XY](?:Unit)?)\s*=\s*"([^"]{0,32})"')
_OME_MAG = re.compile(r'NominalMagnification\s*=\s*"([0-9]*\.?[0-9]+)"')
_UNIT_TO_UM = {"\u00b5m": 1.0, "\u03bcm": 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3, "cm": 1e4}


def _plausible_mpp(value: float | None) -> float | None:
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
        mpp_x = mpp_y = _plausible_mpp(float(m.group(1)))
    if m := _APERIO_MAG.search(desc):
        mag = float(m.group(1))
    if mpp_x is None and (pix := _OME_PIXELS.search(desc)):
        attrs = dict(_OME_ATTR.findall(pix.group(0)))
        scale_x = _UNIT_TO_UM.get(attrs.get("PhysicalSizeXUnit", "µm"))
        scale_y = _UNIT_TO_UM.get(attrs.get("PhysicalSizeYUnit", "µm"))
        try:
            if scale_x and "PhysicalSizeX" in attrs:
                mpp_x = _plausible_mpp(float(attrs["PhysicalSizeX"]) * scale_x)
            if scale_y and "PhysicalSizeY" in attrs:
                mpp_y = _plausible_mpp(float(attrs["PhysicalSizeY"]) * scale_y)
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
                    mpp_x = _plausible_mpp(per_unit_um / fx)
                    mpp_y = _plausible_mpp(per_unit_um / fy)
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


class OpenSlideReader(SlideReader):
    """openslide-python reader for the vendor formats OpenSlide supports.

    Args:
        path: an accepted slide file.
        limits: read limits.
    """

    def __init__(self, path: str | Path, limits: SlideLimits | None = None) -> None:
        import openslide

        self.path = str(path)
        self.limits = limits or SlideLimits()
        try:
            self._slide = openslide.OpenSlide(self.path)
        except openslide.OpenSlideError as exc:
            raise SlideUnreadable("unsupported", f"OpenSlide cannot open it ({exc})") from exc
        props = self._slide.properties
        levels = []
        for i, ((w, h), ds) in enumerate(
            zip(self._slide.level_dimensions, self._slide.level_downsamples, strict=True)
        ):
            levels.append(
                SlideLevel(
                    width=w,
                    height=h,
                    downsample=float(ds),
                    tile_width=int(props.get(f"openslide.level[{i}].tile-width", 256)),
                    tile_height=int(props.get(f"openslide.level[{i}].tile-height", 256)),
                )
            )

        def _float(key: str) -> float | None:
            try:
                return float(props[key]) if key in props else None
            except ValueError:
                return None

        w0, h0 = self._slide.dimensions
        self.info = SlideInfo(
            format=str(props.get("openslide.vendor", "unknown")),
            reader="openslide",
            width=w0,
            height=h0,
            levels=tuple(levels),
            mpp_x=_plausible_mpp(_float("openslide.mpp-x")),
            mpp_y=_plausible_mpp(_float("openslide.mpp-y")),
            objective_power=_float("openslide.objective-power"),
            associated_images=tuple(sorted(self._slide.associated_images)),
            compression=str(props.get("tiff.Compression", "unknown")).lower(),
            file_bytes=os.path.getsize(self.path),
            vendor=props.get("openslide.vendor"),
        )

    def close(self) -> None:
        """Close the slide."""
        self._slide.close()

    def _read_clipped(self, level: int, x0: int, y0: int, x1: int, y1: int) -> RGB:
        ds = self.info.levels[level].downsample
        region = self._slide.read_region(
            (round(x0 * ds), round(y0 * ds)), level, (x1 - x0, y1 - y0)
        )
        rgba = np.asarray(region)
        alpha = rgba[:, :, 3:4].astype(np.uint16)
        # OpenSlide returns premultiplied-then-unpremultiplied RGBA; transparent areas are
        # outside the scanned region and become white background.
        rgb = (rgba[:, :, :3].astype(np.uint16) * alpha + BACKGROUND * (255 - alpha)) // 255
        return rgb.astype(np.uint8)


class PillowReader(SlideReader):
    """A JPEG or PNG micrograph: one level, decoded once, size-checked before decoding.

    Args:
        path: an accepted JPEG or PNG file.
        limits: read limits.
    """

    def __init__(self, path: str | Path, limits: SlideLimits | None = None) -> None:
        self.path = str(path)
        self.limits = limits or SlideLimits()
        cap = Image.MAX_IMAGE_PIXELS
        if cap is None:
            raise RuntimeError("PIL.Image.MAX_IMAGE_PIXELS must stay set (decompression bombs)")
        with Image.open(self.path) as img:
            w, h = img.size
            if w * h > min(cap, self.limits.max_region_pixels):
                raise SlideUnreadable("too-large", f"the image declares {w} x {h} pixels")
            fmt = (img.format or "").lower()
            self._pixels = np.asarray(img.convert("RGB"))
        self.info = SlideInfo(
            format=fmt,
            reader="pillow",
            width=w,
            height=h,
            levels=(SlideLevel(width=w, height=h, downsample=1.0, tile_width=w, tile_height=h),),
            mpp_x=None,
            mpp_y=None,
            objective_power=None,
            associated_images=(),
            compression=fmt,
            file_bytes=os.path.getsize(self.path),
        )

    def _read_clipped(self, level: int, x0: int, y0: int, x1: int, y1: int) -> RGB:
        return self._pixels[y0:y1, x0:x1]


def open_slide(
    path: str | Path, limits: SlideLimits | None = None, *, backend: str | None = None
) -> SlideReader:
    """Open a slide that :func:`inspect_slide` has accepted.

    Args:
        path: the file; its type is decided by content, not by name.
        limits: read limits.
        backend: force ``"tifffile"``, ``"openslide"`` or ``"pillow"``; default by content.

    Returns:
        A reader; use it as a context manager.

    Raises:
        SlideUnreadable: the content is not a supported slide.
    """
    kind = sniff_file(path)
    if backend == "openslide":
        return OpenSlideReader(path, limits)
    if kind in ("tiff", "bigtiff") and backend in (None, "tifffile"):
        return TiffReader(path, limits)
    if kind in ("jpeg", "png") and backend in (None, "pillow"):
        return PillowReader(path, limits)
    if kind == "dicom":
        raise SlideUnreadable("unsupported", "DICOM whole-slide images are not supported yet")
    with open(path, "rb") as fh:
        head = fh.read(256)
    raise SlideUnreadable("not-a-slide", describe_unknown(head))
