"""One table of binary signatures for every text importer."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from oncology_ui.clinical.services import detect_kind
from oncology_ui.core.file_signatures import BINARY_SIGNATURES, binary_format


@pytest.mark.parametrize("magic", list(BINARY_SIGNATURES))
def test_each_signature_names_its_format_and_the_clinical_import_refuses_it(magic: bytes) -> None:
    what = binary_format(magic + b"rest of the file")
    assert what == BINARY_SIGNATURES[magic]
    with pytest.raises(ValidationError, match=re.escape(f"The file is {what}")):
        detect_kind(magic + b"rest of the file")


@pytest.mark.parametrize(
    "head", [b"analyte,value,unit\n", b"##fileformat=VCFv4.2\n", b'{"resourceType": "Bundle"}']
)
def test_text_files_have_no_binary_format(head: bytes) -> None:
    assert binary_format(head) is None
