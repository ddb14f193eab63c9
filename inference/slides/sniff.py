"""Recognise a slide file by its first bytes, never by its name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

FileKind = Literal["tiff", "bigtiff", "jpeg", "png", "dicom", "zip", "unknown"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_BIGTIFF_MAGIC = (b"II+\x00", b"MM\x00+")
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sniff_bytes(head: bytes) -> FileKind:
    """Classify a file from its first 132 bytes.

    Args:
        head: the first bytes of the file (132 or more for DICOM).

    Returns:
        The kind of file; ``"zip"`` is a ZIP archive (the instances of a DICOM whole-slide image,
        checked when it is opened); ``"unknown"`` for anything that is not a supported image
        container.
    """
    if head[:4] in _TIFF_MAGIC:
        return "tiff"
    if head[:4] in _BIGTIFF_MAGIC:
        return "bigtiff"
    if head.startswith(_JPEG_MAGIC):
        return "jpeg"
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"PK\x03\x04"):
        return "zip"  # the files of a DICOM whole-slide image, packed
    return "unknown"


def sniff_file(path: str | Path) -> FileKind:
    """Classify a file on disk by content.

    Args:
        path: the file.

    Returns:
        The kind of file (see :func:`sniff_bytes`).
    """
    with open(path, "rb") as fh:
        return sniff_bytes(fh.read(132))


def describe_unknown(head: bytes) -> str:
    """A plain-words guess of what a non-image file is, for error messages."""
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "it is a web page (HTML), not a slide image"
    if stripped.startswith(b"<"):
        return "it is an XML or HTML document, not a slide image"
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive, not a slide image"
    if head.startswith(b"%PDF"):
        return "it is a PDF document, not a slide image"
    if not head:
        return "the file is empty"
    return (
        "its content is not a supported slide format (TIFF/SVS, OME-TIFF, DICOM whole-slide "
        "image, JPEG or PNG)"
    )
