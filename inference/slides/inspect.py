"""Decide whether an uploaded file is a slide we can read, without trusting it.

:func:`inspect_slide` runs :func:`inspect_in_child` in the sandbox
(:mod:`inference.slides.sandbox`). The child first validates structure only -- file type by
magic bytes, every TIFF directory's declared size, tile size, channel count, tile table and
offsets, the directory chain (count and loops) and the pyramid -- and only then decodes one
small tile through the real reader, so a codec that crashes does so in the child.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from inference.slides.errors import SlideUnreadable
from inference.slides.sandbox import run_sandboxed
from inference.slides.schema import SlideInfo, SlideLevel, SlideLimits
from inference.slides.sniff import describe_unknown, sniff_bytes
from inference.slides.tiff import pyramid_pages

logger = logging.getLogger(__name__)

INSPECT_TARGET = "inference.slides.inspect:inspect_in_child"

# TIFF compression codes whose decoders imagecodecs provides and that slides use.
_DECODABLE_COMPRESSION = {1, 5, 7, 8, 32946, 33003, 33005, 34712, 50001, 50002, 6, 34892}
_TILE_OFFSETS, _TILE_COUNTS, _STRIP_OFFSETS, _STRIP_COUNTS = 324, 325, 273, 279


def inspect_slide(
    path: str | Path, limits: SlideLimits | None = None, *, target: str = INSPECT_TARGET
) -> SlideInfo:
    """Validate an untrusted slide file in a resource-limited subprocess.

    Args:
        path: the uploaded file (its name is ignored; content decides).
        limits: size and resource limits; defaults to :class:`SlideLimits()`.
        target: the child function (a test hook may replace it; never user input).

    Returns:
        What the file holds: format, dimensions, pyramid, microns per pixel, associated images.

    Raises:
        SlideUnreadable: the file is not a readable slide, breaks a limit, or made the reader
            crash, hang or run out of memory; ``str(exc)`` is a sentence for the user.
    """
    limits = limits or SlideLimits()
    result = run_sandboxed(
        target, {"path": str(Path(path).resolve()), "limits": asdict(limits)}, limits
    )
    return slide_info_from_dict(result)


def slide_info_from_dict(data: dict[str, Any]) -> SlideInfo:
    """Rebuild a :class:`SlideInfo` from its ``dataclasses.asdict`` form (JSON round trip)."""
    fields = dict(data)
    fields["levels"] = tuple(SlideLevel(**lv) for lv in fields["levels"])
    fields["associated_images"] = tuple(fields["associated_images"])
    return SlideInfo(**fields)


def inspect_in_child(path: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Inspection proper; runs inside the sandbox child. See :func:`inspect_slide`."""
    lim = SlideLimits(**limits)
    size = os.path.getsize(path)
    if size == 0:
        raise SlideUnreadable("not-a-slide", "the file is empty")
    if size > lim.max_file_bytes:
        raise SlideUnreadable("too-large", f"the file is larger than {lim.max_file_bytes} bytes")
    with open(path, "rb") as fh:
        head = fh.read(512)
    kind = sniff_bytes(head)
    if kind in ("tiff", "bigtiff"):
        validate_tiff_structure(path, lim)
        info = _probe_pixels(path, lim)
    elif kind in ("jpeg", "png"):
        _validate_raster_header(path, lim)
        info = _probe_pixels(path, lim)
    elif kind in ("dicom", "zip"):
        info = _probe_pixels(path, lim)
    else:
        raise SlideUnreadable("not-a-slide", describe_unknown(head))
    return asdict(info)


def validate_tiff_structure(path: str, lim: SlideLimits) -> None:
    """Check every directory of a TIFF file against the limits; decodes no pixels.

    Raises:
        SlideUnreadable: on the first broken rule.
    """
    import tifffile

    size = os.path.getsize(path)
    try:
        tif = tifffile.TiffFile(path)
    except tifffile.TiffFileError as exc:
        raise SlideUnreadable("malformed", f"its TIFF header is invalid ({exc})") from None
    with tif:
        seen: set[int] = set()
        index = 0
        subifds = 0
        while True:
            try:
                page = tif.pages[index]
            except IndexError:
                break
            if not isinstance(page, tifffile.TiffPage):
                raise SlideUnreadable("malformed", f"image {index + 1} could not be parsed")
            if page.offset in seen:
                raise SlideUnreadable("malformed", "its chain of image directories loops back")
            seen.add(page.offset)
            subifds += len(page.subifds or ())
            if index + 1 + subifds > lim.max_ifds:
                raise SlideUnreadable(
                    "too-large", f"it contains more than {lim.max_ifds} images (directories)"
                )
            check_tiff_page(page, lim, size, f"image {index + 1}")
            index += 1
        if index == 0:
            first = _first_directory_offset(path)
            if first is not None and first >= size:
                raise SlideUnreadable(
                    "truncated", "the file is incomplete: its image directory lies past its end"
                )
            raise SlideUnreadable("malformed", "the TIFF file contains no image")
        if not tif.series:
            raise SlideUnreadable("malformed", "the TIFF file contains no image")
        if len(tif.series[0].levels) > lim.max_levels:
            raise SlideUnreadable("too-large", f"its pyramid has more than {lim.max_levels} levels")
        levels, others = pyramid_pages(tif, lim.max_levels)
        previous: tuple[int, int] | None = None
        for n, page in enumerate(levels):
            check_tiff_page(page, lim, size, f"pyramid level {n}")
            dims = (page.imagewidth, page.imagelength)
            if previous is not None and (dims[0] > previous[0] or dims[1] > previous[1]):
                raise SlideUnreadable("malformed", "its pyramid levels do not shrink")
            previous = dims
        for name, page in others:
            check_tiff_page(page, lim, size, f"associated image {name}")
            if page.imagewidth * page.imagelength > lim.max_associated_pixels:
                raise SlideUnreadable("too-large", "an associated image (label/macro) is too large")


def _first_directory_offset(path: str) -> int | None:
    """Offset of the first directory from the 8- or 16-byte TIFF header, for error messages."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    fmt = {b"II*\x00": ("<I", 4), b"MM\x00*": (">I", 4), b"II+\x00": ("<Q", 8)}
    fmt[b"MM\x00+"] = (">Q", 8)
    spec = fmt.get(head[:4])
    if spec is None or len(head) < spec[1] + struct.calcsize(spec[0]):
        return None
    return int(struct.unpack_from(spec[0], head, spec[1])[0])


def check_tiff_page(page: Any, lim: SlideLimits, file_size: int, where: str) -> None:
    """Validate one tifffile ``TiffPage`` from its tags only.

    Args:
        page: the page.
        lim: limits.
        file_size: size of the file, to check tile offsets against.
        where: how to name the page in messages.

    Raises:
        SlideUnreadable: the page breaks a limit or lies about its data.
    """
    w, h = int(page.imagewidth), int(page.imagelength)
    if w <= 0 or h <= 0:
        raise SlideUnreadable("malformed", f"{where} declares an empty image")
    if w > lim.max_dimension or h > lim.max_dimension or w * h > lim.max_pixels:
        raise SlideUnreadable(
            "too-large",
            f"{where} declares {w} x {h} pixels, more than the largest slide accepted "
            f"({lim.max_dimension} pixels a side)",
        )
    spp = int(page.samplesperpixel)
    if not 1 <= spp <= lim.max_samples_per_pixel:
        raise SlideUnreadable("malformed", f"{where} declares {spp} colour channels per pixel")
    bits = page.bitspersample
    if bits not in (1, 8, 16):
        raise SlideUnreadable("unsupported", f"{where} uses {bits}-bit samples")
    if int(page.compression) not in _DECODABLE_COMPRESSION:
        raise SlideUnreadable("unsupported", f"{where} uses an unsupported compression")
    if page.is_tiled:
        tw, th = int(page.tilewidth), int(page.tilelength)
        if not (1 <= tw <= lim.max_tile_side and 1 <= th <= lim.max_tile_side):
            raise SlideUnreadable("malformed", f"{where} declares tiles of {tw} x {th} pixels")
        offsets_tag, counts_tag = _TILE_OFFSETS, _TILE_COUNTS
    else:
        tw, th = w, min(int(page.rowsperstrip or h), h)
        if tw * th > lim.max_tile_side**2:
            raise SlideUnreadable("malformed", f"{where} has strips of {tw} x {th} pixels")
        offsets_tag, counts_tag = _STRIP_OFFSETS, _STRIP_COUNTS
    planes = spp if (page.planarconfig == 2 and spp > 1) else 1
    expected = math.ceil(w / tw) * math.ceil(h / th) * planes
    tags = page.tags
    offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
    if offsets is None or counts is None:
        raise SlideUnreadable("malformed", f"{where} has no tile table")
    if offsets.count != expected or counts.count != expected:
        raise SlideUnreadable(
            "malformed",
            f"{where} declares {expected} tiles but its tile table lists {offsets.count}",
        )
    off = np.asarray(page.dataoffsets, dtype=np.uint64)
    cnt = np.asarray(page.databytecounts, dtype=np.uint64)
    if cnt.size and int(cnt.max()) > lim.max_segment_bytes:
        raise SlideUnreadable("malformed", f"{where} has a tile larger than allowed")
    present = cnt > 0
    if present.any() and int((off[present] + cnt[present]).max()) > file_size:
        raise SlideUnreadable("truncated", f"{where} points past the end of the file")


def _validate_raster_header(path: str, lim: SlideLimits) -> None:
    from PIL import Image, UnidentifiedImageError

    cap = Image.MAX_IMAGE_PIXELS
    if cap is None:
        raise RuntimeError("PIL.Image.MAX_IMAGE_PIXELS must stay set")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SlideUnreadable("too-large", "the image declares too many pixels") from None
    except UnidentifiedImageError:
        raise SlideUnreadable("malformed", "the image header is invalid") from None
    if w * h > min(cap, lim.max_region_pixels):
        raise SlideUnreadable("too-large", f"the image declares {w} x {h} pixels")


def _probe_pixels(path: str, lim: SlideLimits) -> SlideInfo:
    """Open with the real reader and decode one small region of the coarsest level."""
    from inference.slides.reader import open_slide
    from inference.slides.tiff import TiffReader

    try:
        is_tiff = sniff_bytes(_head(path)) in ("tiff", "bigtiff")
        reader = TiffReader(path, lim, threads=1) if is_tiff else open_slide(path, lim)
    except OSError as exc:
        raise _os_error(exc) from None
    with reader:
        last = reader.level_count - 1
        lv = reader.info.levels[last]
        try:
            reader.read_region(last, 0, 0, min(lv.width, 512), min(lv.height, 512))
        except OSError as exc:
            raise _os_error(exc) from None
        return reader.info


def _head(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(132)


def _os_error(exc: OSError) -> SlideUnreadable:
    text = str(exc)
    if "truncated" in text.lower():
        return SlideUnreadable("truncated", "the file is incomplete (truncated)")
    return SlideUnreadable("malformed", f"its image data is invalid ({text[:200]})")
