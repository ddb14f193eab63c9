"""Read pixels from a slide file that inspection has accepted.

Three backends behind one interface (:class:`~inference.slides.slide_reader.SlideReader`), chosen
by content (:mod:`inference.slides.sniff`) in :func:`open_slide`:

- :class:`~inference.slides.tiff.TiffReader` (tifffile + imagecodecs) for every TIFF: Aperio SVS,
  OME-TIFF, generic pyramidal TIFF; the fast path used for tiling.
- :class:`OpenSlideReader` (openslide-python + openslide-bin) for the vendor formats OpenSlide
  knows; also a cross-check of the TIFF reader in the tests.
- :class:`PillowReader` for JPEG/PNG micrographs; Pillow's ``MAX_IMAGE_PIXELS`` stays set.
- :class:`~inference.slides.dicom_wsi.DicomWsiReader` (wsidicom) for DICOM whole-slide images: a
  ZIP archive of the instances, a folder of them or a single instance.

Every read is bounded: a region larger than ``SlideLimits.max_region_pixels`` is refused, and
areas outside the slide come back as white background.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from inference.slides.errors import SlideUnreadable
from inference.slides.schema import SlideInfo, SlideLevel, SlideLimits
from inference.slides.slide_reader import BACKGROUND, RGB, SlideReader
from inference.slides.sniff import describe_unknown, sniff_file
from inference.slides.tiff import TiffReader, plausible_mpp


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
            mpp_x=plausible_mpp(_float("openslide.mpp-x")),
            mpp_y=plausible_mpp(_float("openslide.mpp-y")),
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
        backend: force ``"tifffile"``, ``"openslide"``, ``"pillow"`` or ``"wsidicom"``;
            default by content (a folder, a ZIP archive or a DICOM file is a DICOM slide).

    Returns:
        A reader; use it as a context manager.

    Raises:
        SlideUnreadable: the content is not a supported slide.
    """
    if Path(path).is_dir():
        return _dicom_reader(path, limits)
    kind = sniff_file(path)
    if backend == "openslide":
        return OpenSlideReader(path, limits)
    if kind in ("tiff", "bigtiff") and backend in (None, "tifffile"):
        return TiffReader(path, limits)
    if kind in ("jpeg", "png") and backend in (None, "pillow"):
        return PillowReader(path, limits)
    if kind in ("dicom", "zip") and backend in (None, "wsidicom"):
        return _dicom_reader(path, limits)
    with open(path, "rb") as fh:
        head = fh.read(256)
    raise SlideUnreadable("not-a-slide", describe_unknown(head))


def _dicom_reader(path: str | Path, limits: SlideLimits | None) -> SlideReader:
    from inference.slides.dicom_wsi import DicomWsiReader

    return DicomWsiReader(path, limits)
