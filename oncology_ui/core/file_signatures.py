"""What a file is by its first bytes, for the importers that accept text only.

One table for every text upload (clinical imports, documents), so a format learnt once is refused
everywhere with the same words. Callers that accept one of these formats themselves (documents
read a PDF's text layer) check for it before asking.
"""

from __future__ import annotations

#: Magic numbers of formats that are never a clinical text file, and what to call them.
BINARY_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive (or a Word or Excel document)",
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"\xd0\xcf\x11\xe0": "an old Office document",
    b"BCF\x02": "a binary BCF file",
    b"{\\rtf": "an RTF document",
}


def binary_format(head: bytes) -> str | None:
    """What the file is when its first bytes name a binary format ("a PNG image"), else None."""
    for magic, what in BINARY_SIGNATURES.items():
        if head.startswith(magic):
            return what
    return None
