"""What a DICOM upload may contain here: the error kinds, the supported encodings and nesting depth,
and :class:`DicomFileError`, which every reader raises.
"""

from __future__ import annotations

import os
from pathlib import Path

ERROR_KINDS = frozenset(
    {
        "not_dicom",
        "truncated",
        "absurd_length",
        "deep_nesting",
        "unsupported_transfer_syntax",
        "missing_attribute",
        "invalid_value",
        "dicomdir",
        "mixed_patients",
        "sandbox",
    }
)
MAX_SEQUENCE_DEPTH = 16
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
SUPPORTED_TRANSFER_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    }
)


class DicomFileError(ValueError):
    """A file could not be read; ``kind`` is one of :data:`ERROR_KINDS`."""

    def __init__(self, path: str | os.PathLike[str], kind: str, detail: str) -> None:
        self.path = str(path)
        self.kind = kind
        self.detail = detail
        super().__init__(f"{Path(path).name}: {detail}")
