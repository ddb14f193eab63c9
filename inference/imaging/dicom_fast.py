"""The fast path: read only the first kilobytes of a file and walk its elements.

Part 5 little-endian encodings (implicit or explicit VR), sequences skipped by their lengths, pixel
data never decoded for the header; anything unusual makes it give up (return None) so the caller
falls back to pydicom (:mod:`inference.imaging.dicom_read`).
"""

from __future__ import annotations

import math
import os
import struct
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.datadict import dictionary_has_tag, dictionary_VR

from inference.imaging.dicom_format import (
    MAX_SEQUENCE_DEPTH,
    SUPPORTED_TRANSFER_SYNTAXES,
    DicomFileError,
)

# --------------------------------------------------------------------------------------------------
# Fast path

WANTED = {
    0x00020002: "MediaStorageSOPClassUID",
    0x00020010: "TransferSyntaxUID",
    0x00080016: "SOPClassUID",
    0x00080018: "SOPInstanceUID",
    0x00080020: "StudyDate",
    0x00080021: "SeriesDate",
    0x00080060: "Modality",
    0x00081030: "StudyDescription",
    0x0008103E: "SeriesDescription",
    0x00100020: "PatientID",
    0x00180015: "BodyPartExamined",
    0x00180050: "SliceThickness",
    0x0020000D: "StudyInstanceUID",
    0x0020000E: "SeriesInstanceUID",
    0x00200011: "SeriesNumber",
    0x00200013: "InstanceNumber",
    0x00200032: "ImagePositionPatient",
    0x00200037: "ImageOrientationPatient",
    0x00200052: "FrameOfReferenceUID",
    0x00280008: "NumberOfFrames",
    0x00280010: "Rows",
    0x00280011: "Columns",
    0x00280030: "PixelSpacing",
    0x00280002: "SamplesPerPixel",
    0x00280100: "BitsAllocated",
    0x00280103: "PixelRepresentation",
    0x00281052: "RescaleIntercept",
    0x00281053: "RescaleSlope",
}
_BINARY_US = {0x00280010, 0x00280011, 0x00280002, 0x00280100, 0x00280103}
BINARY_KEYS = {WANTED[t] for t in _BINARY_US}
_LONG_VRS = {
    b"OB",
    b"OW",
    b"OF",
    b"SQ",
    b"UT",
    b"UN",
    b"UC",
    b"UR",
    b"OD",
    b"OL",
    b"OV",
    b"SV",
    b"UV",
}
_FAST_TS = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"} | {
    ts
    for ts in SUPPORTED_TRANSFER_SYNTAXES
    if ts.startswith("1.2.840.10008.1.2.4") or ts.endswith(".5")
}
_STOP_TAG = 0x00290000
_PREFIX = 16384
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TAG = struct.Struct("<HH")


class _Decline(Exception):
    """The fast path does not handle this file; pydicom will."""


class _Truncated(_Decline):
    """The buffer ends inside an element (the file is truncated if nothing more can be read)."""


class _AbsurdLength(_Decline):
    """An element that cannot have an undefined length has one."""


class _CleanEnd(_Decline):
    """The buffer ends exactly at an element boundary."""


_EXPLICIT_HEAD = struct.Struct("<HH2sH")
_IMPLICIT_HEAD = struct.Struct("<HHI")
_LONG_VR_SET = frozenset(_LONG_VRS)


def _walk(
    buf: bytes,
    pos: int,
    explicit: bool,
    depth: int,
    values: dict[int, bytes] | None,
    stop_group: int,
) -> int:
    """Walk elements from ``pos``; return where it stopped.

    Stops at an item delimiter (nested item, position left on it), at the first group >=
    ``stop_group`` (top level), or at the end of ``buf`` (raises :class:`_Decline`). Wanted values
    of the top level go into ``values``. Written as one flat loop because this is the hot path of
    the header index (about 100 elements per file).
    """
    if depth > MAX_SEQUENCE_DEPTH:
        raise _Decline
    n = len(buf)
    explicit_head = _EXPLICIT_HEAD.unpack_from
    implicit_head = _IMPLICIT_HEAD.unpack_from
    u32 = _U32.unpack_from
    long_vrs = _LONG_VR_SET
    wanted = WANTED
    while True:
        if pos == n:
            raise _CleanEnd
        if pos + 8 > n:
            raise _Truncated
        if explicit:
            group, elem, vr, length = explicit_head(buf, pos)
        else:
            group, elem, length = implicit_head(buf, pos)
            vr = b""  # implicit VR: never one of the long VRs below
        if group >= stop_group:
            return pos
        if group == 0xFFFE:
            if elem == 0xE00D and depth:
                return pos
            raise _Decline
        if vr in long_vrs:
            if pos + 12 > n:
                raise _Truncated
            length = u32(buf, pos + 8)[0]
            start = pos + 12
        else:
            start = pos + 8
        if length == 0xFFFFFFFF:
            if vr == b"":
                known = (
                    dictionary_VR((group << 16) | elem)
                    if dictionary_has_tag((group << 16) | elem)
                    else "UN"
                )
                if known not in ("SQ", "UN", "OB", "OW", "OB or OW"):
                    raise _AbsurdLength
            elif vr not in (b"SQ", b"UN"):
                raise _AbsurdLength if vr not in (b"OB", b"OW") else _Decline
            # An undefined-length UN holds an implicit-VR sequence (Part 5, 6.2.2).
            pos = _skip_items(buf, start, explicit and vr == b"SQ", depth + 1)
            continue
        pos = start + length
        if pos > n:
            raise _Truncated(length)
        if values is not None:
            tag = (group << 16) | elem
            if tag in wanted:
                values[tag] = buf[start:pos]


def _skip_items(buf: bytes, pos: int, explicit: bool, depth: int) -> int:
    """Skip the items of an undefined-length sequence; return the position after its delimiter."""
    if depth > MAX_SEQUENCE_DEPTH:
        raise _Decline
    n = len(buf)
    while True:
        if pos + 8 > n:
            raise _Truncated
        group, elem, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
        pos += 8
        if group != 0xFFFE:
            raise _Decline
        if elem == 0xE0DD:
            return pos
        if elem != 0xE000:
            raise _Decline
        if length != 0xFFFFFFFF:
            pos += length
            continue
        pos = _walk(buf, pos, explicit, depth, None, 0x10000) + 8


def _decode_values(raw: dict[int, bytes]) -> dict[str, str | int] | None:
    values: dict[str, str | int] = {}
    for tag, data in raw.items():
        if tag in _BINARY_US:
            if len(data) != 2:
                return None
            values[WANTED[tag]] = _U16.unpack(data)[0]
            continue
        if not data.isascii():
            # Non-ASCII text needs the Specific Character Set: pydicom's job.
            return None
        values[WANTED[tag]] = data.decode("ascii").strip(" \x00")
    return values


def fast_values(path: str, *, whole_file: bool = False) -> dict[str, str | int] | None:
    """Read the wanted header values with the fast path, or None to let pydicom decide.

    Args:
        path: the file.
        whole_file: walk every top-level element to the end of the file (a structural pre-check
            before pydicom, which silently accepts values cut short by the end of the file).

    Raises:
        DicomFileError: for truncation and undefined lengths on non-sequence elements.
    """
    stop_group = 0x10000 if whole_file else _STOP_TAG >> 16
    with open(path, "rb") as fh:
        buf = fh.read(-1 if whole_file else _PREFIX)
        if len(buf) < 132 or buf[128:132] != b"DICM":
            return None
        for _attempt in range(3):
            raw: dict[int, bytes] = {}
            try:
                pos, ts = _walk_meta(buf, raw)
                if ts not in _FAST_TS:
                    return None
                try:
                    _walk(buf, pos, ts != "1.2.840.10008.1.2", 0, raw, stop_group)
                except _CleanEnd:
                    # A header-only object that ends before group 0029 is complete only if the
                    # whole file was read.
                    if fh.read(1):
                        fh.seek(-1, os.SEEK_CUR)
                        raise _Truncated from None
                return _decode_values(raw)
            except _AbsurdLength:
                raise DicomFileError(
                    path, "absurd_length", "undefined length (0xFFFFFFFF) on a non-sequence element"
                ) from None
            except _Decline as exc:
                # Maybe only the prefix was too short (large private blocks): read more, retry.
                more = fh.read(len(buf) * 4)
                if not more:
                    if isinstance(exc, _Truncated):
                        raise _truncation_error(path, exc, len(buf), claim_detail=True) from None
                    return None
                buf += more
        return None


def parse_floats(text: str | int | None, count: int) -> tuple[float, ...] | None:
    if text is None or text == "":
        return None
    parts = str(text).split("\\")
    if len(parts) != count:
        return None
    try:
        numbers = tuple(float(p) for p in parts)
    except ValueError:
        return None
    if not all(math.isfinite(x) for x in numbers):
        return None
    return numbers


def parse_int(text: str | int | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        return int(float(str(text)))
    except (ValueError, OverflowError):
        return None


_NATIVE_TS = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


def _walk_meta(buf: bytes, raw: dict[int, bytes]) -> tuple[int, str]:
    """Walk the file meta information (always explicit VR little endian) into ``raw``.

    Returns:
        Where the dataset starts and its transfer syntax UID.
    """
    pos = _walk(buf, 132, True, 0, raw, 0x0003)
    return pos, raw.get(0x00020010, b"").decode("ascii", "replace").strip(" \x00")


def _truncation_error(
    path: str, exc: _Truncated, available: int, *, claim_detail: bool = False
) -> DicomFileError:
    """An element runs past the bytes read: absurd when it claims more than the file holds."""
    claimed = exc.args[0] if exc.args else 0
    if claimed <= available:
        return DicomFileError(path, "truncated", "file ends inside an element")
    detail = f"an element claims {claimed} bytes" if claim_detail else "file ends inside an element"
    return DicomFileError(path, "absurd_length", detail)


def fast_pixel_slice(path: str) -> tuple[dict[str, str | int], npt.NDArray[Any]] | None:
    """Header values and the stored pixel values of a single-frame native little-endian image.

    This is the fast path of volume loading: one read, one walk over the elements, and
    ``np.frombuffer`` on the pixel bytes. It returns None for anything else (compressed,
    multi-frame, colour, odd bit depths, unexpected structure) so the caller falls back to pydicom.

    Raises:
        DicomFileError: when the structure is broken (truncated, absurd lengths).
    """
    with open(path, "rb") as fh:
        buf = fh.read()
    if len(buf) < 132 or buf[128:132] != b"DICM":
        return None
    raw: dict[int, bytes] = {}
    try:
        pos, ts = _walk_meta(buf, raw)
        if ts not in _NATIVE_TS:
            return None
        explicit = ts != "1.2.840.10008.1.2"
        pos = _walk(buf, pos, explicit, 0, raw, 0x7FE0)
    except _AbsurdLength:
        raise DicomFileError(
            path, "absurd_length", "undefined length on a non-sequence element"
        ) from None
    except _Truncated as exc:
        raise _truncation_error(path, exc, len(buf)) from None
    except _Decline:
        return None
    values = _decode_values(raw)
    if values is None or pos + 12 > len(buf):
        return None
    group, elem = _TAG.unpack_from(buf, pos)
    if (group, elem) != (0x7FE0, 0x0010):
        return None
    if explicit:
        length = _U32.unpack_from(buf, pos + 8)[0]
        start = pos + 12
    else:
        length = _U32.unpack_from(buf, pos + 4)[0]
        start = pos + 8
    rows, cols = values.get("Rows"), values.get("Columns")
    bits, signed = values.get("BitsAllocated"), values.get("PixelRepresentation", 0)
    if values.get("SamplesPerPixel", 1) != 1 or parse_int(values.get("NumberOfFrames")) not in (
        None,
        1,
    ):
        return None
    if not isinstance(rows, int) or not isinstance(cols, int) or bits not in (8, 16, 32):
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{int(bits) // 8}")
    expected = rows * cols * dtype.itemsize
    if length == 0xFFFFFFFF or length < expected:
        return None
    if start + expected > len(buf):
        raise DicomFileError(path, "truncated", "file ends inside the pixel data")
    pixels = np.frombuffer(buf, dtype=dtype, count=rows * cols, offset=start).reshape(rows, cols)
    return values, pixels
