"""Reading one DICOM file with pydicom: the supported versions and encodings, the structure checks,
and :class:`DicomFileError` with a ``kind`` from :data:`ERROR_KINDS` for every way a file fails.
"""

from __future__ import annotations

import os
import struct
import warnings

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.errors import BytesLengthException, InvalidDicomError

from inference.imaging.dicom_fast import fast_values
from inference.imaging.dicom_format import (
    MAX_SEQUENCE_DEPTH,
    SUPPORTED_TRANSFER_SYNTAXES,
    DicomFileError,
)

MIN_PYDICOM = (3, 0, 2)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def assert_pydicom_version() -> None:
    """Refuse to run with a pydicom older than 3.0.2 (CVE-2026-32711)."""
    if _version_tuple(pydicom.__version__) < MIN_PYDICOM:
        raise RuntimeError(f"pydicom {pydicom.__version__} < 3.0.2 (CVE-2026-32711)")


assert_pydicom_version()
# --------------------------------------------------------------------------------------------------
# pydicom path


def _check_structure(ds: pydicom.Dataset, name: str, size: int) -> None:
    """Check nesting depth and raw element lengths before any value is converted.

    pydicom reads a value shorter than its declared length without complaint when the file ends,
    so the declared length of every still-raw element is compared with the file size and with the
    bytes actually read.
    """
    stack: list[tuple[pydicom.Dataset, int]] = [(ds, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_SEQUENCE_DEPTH:
            raise DicomFileError(
                name, "deep_nesting", f"sequences nested more than {depth - 1} deep"
            )
        for tag in list(current.keys()):
            raw = current.get_item(tag)
            if isinstance(raw, RawDataElement):
                length = raw.length
                if length == 0xFFFFFFFF:
                    if raw.VR not in (None, "SQ", "OB", "OW", "UN"):
                        raise DicomFileError(name, "absurd_length", f"undefined length on {tag}")
                    continue
                if length > size:
                    raise DicomFileError(
                        name, "absurd_length", f"element {tag} claims {length} bytes"
                    )
                if raw.value is not None and len(raw.value) < length:
                    raise DicomFileError(name, "truncated", f"file ends inside element {tag}")
                if tag in _PIXEL_TAGS:
                    continue
            elem = current[tag]
            if elem.VR == "SQ":
                stack.extend((item, depth + 1) for item in elem.value)


_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})


def read_dataset(path: str | os.PathLike[str], *, stop_before_pixels: bool) -> pydicom.Dataset:
    """Read one untrusted file with pydicom, mapping failures to :class:`DicomFileError`.

    Args:
        path: the file.
        stop_before_pixels: True to skip pixel data (header index).

    Returns:
        The dataset, with every element already parsed (no lazy surprises later).

    Raises:
        DicomFileError: with ``kind`` in :data:`ERROR_KINDS`.
    """
    name = str(path)
    try:
        size = os.path.getsize(name)
        fast_values(name, whole_file=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Pixel data is deferred rather than skipped so that a file cut off before it, or one
            # whose pixel element claims more bytes than the file has, is still noticed.
            ds = pydicom.dcmread(name, defer_size=4096 if stop_before_pixels else None)
            _check_structure(ds, name, size)
            if len(ds) == 0:
                raise DicomFileError(name, "truncated", "file ends after its file meta information")
            if "Rows" in ds and not any(k in ds for k in _PIXEL_KEYWORDS):
                raise DicomFileError(name, "truncated", "file ends before its pixel data")
            if stop_before_pixels:
                for keyword in _PIXEL_KEYWORDS:
                    if keyword in ds:
                        del ds[keyword]
            ts = str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "")
            for meta_elem in ds.file_meta:
                _ = meta_elem.value
    except DicomFileError:
        raise
    except InvalidDicomError as exc:
        raise DicomFileError(name, "not_dicom", "not a DICOM file (no DICM preamble)") from exc
    except RecursionError as exc:
        raise DicomFileError(name, "deep_nesting", "sequences nested too deeply") from exc
    except (MemoryError, OverflowError) as exc:
        raise DicomFileError(name, "absurd_length", f"absurd element length ({exc})") from exc
    except (EOFError, struct.error) as exc:
        raise DicomFileError(name, "truncated", f"file is truncated ({exc})") from exc
    except NotImplementedError as exc:
        raise DicomFileError(name, "unsupported_transfer_syntax", str(exc)) from exc
    except (
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        UnicodeError,
        BytesLengthException,
    ) as exc:
        # pydicom raises these for malformed values and lengths it cannot follow.
        text = str(exc)
        kind = (
            "truncated" if "end of" in text.lower() or "bytes" in text.lower() else "invalid_value"
        )
        raise DicomFileError(
            name, kind, f"malformed element ({type(exc).__name__}: {text[:120]})"
        ) from exc
    except OSError as exc:
        raise DicomFileError(name, "truncated", f"cannot read file ({exc.strerror})") from exc
    if ts and ts not in SUPPORTED_TRANSFER_SYNTAXES:
        raise DicomFileError(
            name, "unsupported_transfer_syntax", f"unsupported transfer syntax {ts}"
        )
    return ds
