"""DICOM whole-slide images (VL Whole Slide Microscopy Image Storage), read with ``wsidicom``.

A DICOM slide is many files: one instance (or a concatenation of instances) per pyramid level,
plus optional label and overview images. It arrives as a ZIP archive (an upload of a folder, of
several files, or a retrieval from a DICOMweb store, all packed by the web app) or as one file
(a slide of one level). :class:`DicomWsiReader` takes either, unpacks a ZIP into a private
temporary folder (bounded: member count, declared and actual bytes, compression ratio; member
names are never used as paths), checks the instances with :func:`check_instances` and reads
pixels through ``wsidicom`` behind the common :class:`~inference.slides.slide_reader.SlideReader`
interface, so inspection, de-identification, tiling and the viewer treat it like an SVS.

Refused, with a sentence for the user: a DICOM that is not a whole-slide image (a CT, an SR),
instances of two slides, series, studies or patients mixed, a level whose frames are not all
there, a pyramid with a level missing (two levels more than :data:`MAX_LEVEL_STEP` apart), and
archives that unpack to more than the limits allow.

The DICOM patient attributes (name, ID, birth date, accession, ...) are read only to check that
the slide is one patient's and to hand the Patient ID to the caller for the wrong-patient check;
the de-identified derivative is re-encoded from pixels (:mod:`inference.slides.deid`), so no DICOM
attribute is ever stored.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import zipfile
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from inference.slides.errors import SlideUnreadable
from inference.slides.schema import SlideInfo, SlideLevel, SlideLimits
from inference.slides.slide_reader import RGB, SlideReader, default_threads
from inference.slides.tiff import plausible_mpp

#: SOP Class UID of VL Whole Slide Microscopy Image Storage.
WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"
#: Most instances one slide may hold.
MAX_INSTANCES = 512
#: Largest uncompressed-to-compressed ratio of a ZIP member (a zip bomb has thousands).
MAX_ZIP_RATIO = 200
#: Largest downsample between two consecutive pyramid levels; more means a level is missing.
MAX_LEVEL_STEP = 4.01
_COPY_BLOCK = 1024 * 1024
#: Prefix of the private folders archives are unpacked into (see :func:`remove_stale_unpacked`).
UNPACK_PREFIX = "oncoboard-dicom-wsi-"
_DECODED_CACHE_BYTES = 256 * 1024**2
_JPEG_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"})
_JPEG2000_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"})
_SKIPPED_MEMBERS = ("DICOMDIR", "__MACOSX/", ".DS_Store")
_MODALITY_WORDS = {
    "CT": "a CT image",
    "MR": "an MR image",
    "PT": "a PET image",
    "SR": "a structured report",
    "SEG": "a segmentation",
    "RTSTRUCT": "a radiotherapy structure set",
}


def is_zip(head: bytes) -> bool:
    """Whether the first bytes are a ZIP archive's."""
    return head.startswith(b"PK\x03\x04")


def unpack_zip(path: str | Path, folder: Path, limits: SlideLimits) -> list[Path]:
    """Unpack the DICOM files of a ZIP archive into ``folder`` under generated names.

    Directory entries, ``DICOMDIR`` and macOS metadata are skipped; every other member must be a
    DICOM file. Sizes are checked on the declared sizes first and again on the bytes actually
    inflated, so an archive lying about its sizes stops at the limit too.

    Returns:
        The unpacked files, in archive order.

    Raises:
        SlideUnreadable: not a ZIP, too many members, too many bytes, a zip bomb, encrypted,
            or a member that is not DICOM.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SlideUnreadable("malformed", f"the ZIP archive is damaged ({exc})") from None
    files: list[Path] = []
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir() and not any(skip in m.filename for skip in _SKIPPED_MEMBERS)
        ]
        if not members:
            raise SlideUnreadable("not-a-slide", "the ZIP archive holds no files")
        if len(members) > MAX_INSTANCES:
            raise SlideUnreadable(
                "too-large", f"the ZIP archive holds more than {MAX_INSTANCES} files"
            )
        declared = sum(m.file_size for m in members)
        if declared > limits.max_file_bytes:
            raise SlideUnreadable(
                "too-large", f"the ZIP archive unpacks to more than {limits.max_file_bytes} bytes"
            )
        for m in members:
            if m.flag_bits & 0x1:
                raise SlideUnreadable("unsupported", "the ZIP archive is encrypted")
            if m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1) and m.file_size > 2**20:
                raise SlideUnreadable(
                    "too-large",
                    f"a file in the ZIP archive expands {m.file_size // max(m.compress_size, 1)} "
                    "times (a zip bomb?)",
                )
        total = 0
        for n, member in enumerate(members):
            target = folder / f"{n:06d}.dcm"
            try:
                with archive.open(member) as src, open(target, "wb") as out:
                    while block := src.read(_COPY_BLOCK):
                        total += len(block)
                        if total > min(declared, limits.max_file_bytes):
                            raise SlideUnreadable(
                                "too-large", "the ZIP archive unpacks to more than it declares"
                            )
                        out.write(block)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise SlideUnreadable("malformed", f"the ZIP archive is damaged ({exc})") from None
            with open(target, "rb") as fh:
                if fh.read(132)[128:132] != b"DICM":
                    name = "".join(ch for ch in member.filename if ch.isprintable())[-80:]
                    raise SlideUnreadable(
                        "not-a-slide", f"the file {name!r} in the ZIP archive is not DICOM"
                    )
            files.append(target)
    return files


def _what_dicom(dataset: Any) -> str:
    modality = str(dataset.get("Modality", "") or "")
    return _MODALITY_WORDS.get(modality, f"a DICOM {modality or 'object'}")


def _one(values: set[str], what: str) -> str:
    if len(values) > 1:
        raise SlideUnreadable(
            "malformed",
            f"the files hold {len(values)} different {what}; upload one slide at a time",
        )
    return next(iter(values), "")


def check_instances(files: list[Path], limits: SlideLimits) -> str:
    """Check that ``files`` are the instances of one whole slide, with no level or frame missing.

    Reads headers only (``stop_before_pixels``).

    Returns:
        The slide's DICOM Patient ID (may be empty), for the caller's wrong-patient check.

    Raises:
        SlideUnreadable: with what is wrong, in words.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    if len(files) > MAX_INSTANCES:
        raise SlideUnreadable("too-large", f"the slide has more than {MAX_INSTANCES} files")
    studies: set[str] = set()
    series: set[str] = set()
    patients: set[str] = set()
    containers: set[str] = set()
    # Frames per level (keyed by its pixel matrix size) and the tiles that level needs.
    frames: dict[tuple[int, int], int] = defaultdict(int)
    needed: dict[tuple[int, int], int] = {}
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
            raise SlideUnreadable("malformed", f"a DICOM file is damaged ({exc})") from None
        if str(ds.get("SOPClassUID", "")) != WSI_SOP_CLASS:
            raise SlideUnreadable(
                "not-a-slide",
                f"it is {_what_dicom(ds)}, not a DICOM whole-slide image (VL Whole Slide "
                "Microscopy); other DICOM belongs in the imaging upload",
            )
        studies.add(str(ds.get("StudyInstanceUID", "")))
        series.add(str(ds.get("SeriesInstanceUID", "")))
        patients.add(str(ds.get("PatientID", "") or "").strip())
        if ds.get("ContainerIdentifier"):
            containers.add(str(ds.ContainerIdentifier))
        if "VOLUME" not in [str(v).upper() for v in ds.get("ImageType", [])]:
            continue  # label, overview, thumbnail: never read
        cols, rows = (
            int(ds.get("TotalPixelMatrixColumns", 0)),
            int(ds.get("TotalPixelMatrixRows", 0)),
        )
        tw, th = int(ds.get("Columns", 0)), int(ds.get("Rows", 0))
        if min(cols, rows, tw, th) <= 0:
            raise SlideUnreadable("malformed", "a level declares an empty image")
        if max(cols, rows) > limits.max_dimension or cols * rows > limits.max_pixels:
            raise SlideUnreadable(
                "too-large", f"a level declares {cols} x {rows} pixels, more than accepted"
            )
        if max(tw, th) > limits.max_tile_side:
            raise SlideUnreadable("malformed", f"a level declares tiles of {tw} x {th} pixels")
        if str(ds.get("DimensionOrganizationType", "TILED_FULL")) != "TILED_FULL":
            continue  # sparse tiling lists its own positions; wsidicom reads what is there
        frames[(cols, rows)] += int(ds.get("NumberOfFrames", 1))
        needed[(cols, rows)] = math.ceil(cols / tw) * math.ceil(rows / th)
    patient = _one(patients, "patients")
    _one(studies, "studies")
    _one(series, "series")
    _one(containers, "slides (container identifiers)")
    for (cols, rows), count in frames.items():
        if count < needed[(cols, rows)]:
            raise SlideUnreadable(
                "truncated",
                f"the {cols} x {rows} level has {count} of its {needed[(cols, rows)]} tiles; "
                "a file of the slide is missing",
            )
    sizes = sorted(needed, reverse=True)
    for (w0, _), (w1, _) in zip(sizes, sizes[1:], strict=False):
        if w0 / w1 > MAX_LEVEL_STEP:
            raise SlideUnreadable(
                "truncated",
                f"a pyramid level between {w0} and {w1} pixels wide is missing",
            )
    return patient


class DicomWsiReader(SlideReader):
    """``wsidicom`` reader of a DICOM slide given as a ZIP archive, a folder or one file.

    Args:
        path: the archive, folder or single instance.
        limits: read limits (and the unpacking limits of an archive).
        threads: decoder threads of wsidicom.
    """

    def __init__(
        self, path: str | Path, limits: SlideLimits | None = None, *, threads: int | None = None
    ) -> None:
        from wsidicom import WsiDicom
        from wsidicom.config import Settings

        self.path = str(path)
        self.limits = limits or SlideLimits()
        self._tmp: str | None = None
        source = Path(path)
        if source.is_dir():
            files = sorted(p for p in source.iterdir() if p.is_file())
        else:
            with open(source, "rb") as fh:
                head = fh.read(132)
            if is_zip(head):
                self._tmp = tempfile.mkdtemp(prefix=UNPACK_PREFIX)
                files = unpack_zip(source, Path(self._tmp), self.limits)
            else:
                files = [source]
        try:
            self.patient_id = check_instances(files, self.limits)
            self._slide = WsiDicom.open(files, settings=Settings(open_web_threads=1))
        except SlideUnreadable:
            self.close()
            raise
        except Exception as exc:  # wsidicom's own errors: a file set it cannot make a slide of
            self.close()
            raise SlideUnreadable(
                "malformed", f"it is not a readable DICOM whole slide ({exc})"
            ) from None
        self._threads = threads or default_threads()
        self.info = self._info(files)
        self._cache: OrderedDict[tuple[int, tuple[int, int]], RGB] = OrderedDict()
        self._cache_bytes = 0
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(self._threads)
        self._decode = _frame_decoder(self._syntax_uid)

    def _info(self, files: list[Path]) -> SlideInfo:
        levels = list(self._slide.levels)
        if not levels:
            self.close()
            raise SlideUnreadable("truncated", "the DICOM slide has no pyramid levels")
        base = levels[0]
        width, height = int(base.size.width), int(base.size.height)
        slide_levels = tuple(
            SlideLevel(
                width=int(lv.size.width),
                height=int(lv.size.height),
                downsample=width / int(lv.size.width),
                tile_width=int(lv.tile_size.width),
                tile_height=int(lv.tile_size.height),
            )
            for lv in levels
        )
        mpp = base.mpp
        associated = []
        if self._slide.labels:
            associated.append("label")
        if self._slide.overviews:
            associated.append("overview")
        syntax = base.default_instance.image_data.transfer_syntax
        self._syntax_uid = str(syntax)
        compression = _compression_name(str(getattr(syntax, "name", syntax)))
        return SlideInfo(
            format="dicom-wsi",
            reader="wsidicom",
            width=width,
            height=height,
            levels=slide_levels,
            mpp_x=plausible_mpp(float(mpp.width)) if mpp is not None else None,
            mpp_y=plausible_mpp(float(mpp.height)) if mpp is not None else None,
            objective_power=None,
            associated_images=tuple(associated),
            compression=compression,
            file_bytes=sum(os.path.getsize(p) for p in files),
            vendor=None,
            patient_id=self.patient_id,
        )

    def close(self) -> None:
        """Close the slide and remove an unpacked archive."""
        slide = getattr(self, "_slide", None)
        if slide is not None:
            slide.close()
            self._slide = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)
            self._pool = None

    def _frames(self, level: int, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], RGB]:
        """Decoded frames ``(col, row)`` of a level: from the cache, else decoded in parallel.

        The encoded frame is wsidicom's (uncropped); it is decoded with imagecodecs, as the TIFF
        reader decodes its tiles, so a DICOM frame and the same SVS tile cost the same.
        """
        wsi_level = self._slide.levels[level].level
        got = {k: self._cache[(level, k)] for k in keys if (level, k) in self._cache}
        missing = [k for k in keys if k not in got]

        decoder, pool = self._decode, self._pool
        if decoder is None or pool is None:
            raise RuntimeError("the slide is closed or its frames are not decoded here")

        def decode(key: tuple[int, int]) -> RGB:
            data = self._slide.read_encoded_tile(wsi_level, key, crop_to_image_boundary=False)
            pixels = np.asarray(decoder(data))
            if pixels.ndim == 2:
                pixels = np.repeat(pixels[:, :, None], 3, axis=2)
            return np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8)

        if len(missing) > 1:
            decoded = list(pool.map(decode, missing))
        else:
            decoded = [decode(k) for k in missing]
        for key, pixels in zip(missing, decoded, strict=True):
            got[key] = self._cache[(level, key)] = pixels
            self._cache_bytes += pixels.nbytes
        while self._cache_bytes > _DECODED_CACHE_BYTES and self._cache:
            self._cache_bytes -= self._cache.popitem(last=False)[1].nbytes
        return got

    def _covering(self, level: int, x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
        lv = self.info.levels[level]
        tw, th = lv.tile_width, lv.tile_height
        return [
            (c, r)
            for r in range(y0 // th, (y1 - 1) // th + 1)
            for c in range(x0 // tw, (x1 - 1) // tw + 1)
        ]

    def prefetch(self, level: int, rects: Sequence[tuple[int, int, int, int]]) -> None:
        """Decode, in parallel, every frame under these regions into the cache."""
        if self._decode is None or not 0 <= level < self.level_count:
            return
        wanted: dict[tuple[int, int], None] = {}
        lv = self.info.levels[level]
        for x0, y0, x1, y1 in rects:
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, lv.width), min(y1, lv.height)
            if x1 > x0 and y1 > y0:
                wanted.update(dict.fromkeys(self._covering(level, x0, y0, x1, y1)))
        self._frames(level, list(wanted))

    def _read_clipped(self, level: int, x0: int, y0: int, x1: int, y1: int) -> RGB:
        if self._decode is not None:
            lv = self.info.levels[level]
            out = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
            for (c, r), arr in self._frames(level, self._covering(level, x0, y0, x1, y1)).items():
                sx, sy = c * lv.tile_width, r * lv.tile_height
                ax0, ay0 = max(x0, sx), max(y0, sy)
                ax1, ay1 = min(x1, sx + arr.shape[1]), min(y1, sy + arr.shape[0])
                out[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = arr[
                    ay0 - sy : ay1 - sy, ax0 - sx : ax1 - sx
                ]
            return out
        wsi_level = self._slide.levels[level].level
        pixels = np.asarray(
            self._slide.read_region(
                (x0, y0), wsi_level, (x1 - x0, y1 - y0), threads=self._threads, as_array=True
            )
        )
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[:, :, None], 3, axis=2)
        return np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8)


def remove_stale_unpacked(older_than_seconds: float, *, now: float | None = None) -> int:
    """Remove unpacked archives left behind by a reader that was killed (a sandbox timeout).

    A reader removes its folder when closed; a child killed for its limits cannot. Returns how
    many folders were removed.
    """
    import time

    cutoff = (now if now is not None else time.time()) - older_than_seconds
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{UNPACK_PREFIX}*"):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _frame_decoder(syntax_uid: str) -> Callable[[bytes], Any] | None:
    """imagecodecs' decoder of frames in this transfer syntax; ``None``: wsidicom decodes."""
    import imagecodecs

    if syntax_uid in _JPEG_SYNTAXES:
        return imagecodecs.jpeg8_decode
    if syntax_uid in _JPEG2000_SYNTAXES:
        return imagecodecs.jpeg2k_decode
    return None


def _compression_name(syntax: str) -> str:
    text = syntax.lower()
    for word in ("jpeg 2000", "jpeg-ls", "jpeg", "rle", "deflate"):
        if word in text:
            return word.replace(" ", "")
    return "none" if "explicit" in text or "implicit" in text else text[:20]
