"""Reading a PDF back as text, the way the report tests check what was printed."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def _folded(text: str) -> str:
    """Runs of white space (line breaks from the layout included) as one space."""
    return re.sub(r"\s+", " ", text)


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page, white space folded."""
    return [_folded(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    """The text of the whole document, white space folded (also across page breaks)."""
    return _folded(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
