from __future__ import annotations

from django import forms


class SlideUploadForm(forms.Form):
    """The plain upload form (the chunked uploader replaces it when JavaScript runs)."""

    file = forms.FileField(
        label="Slide file",
        help_text="SVS, NDPI-exported TIFF, pyramidal TIFF or OME-TIFF, JPEG or PNG micrograph. "
        "The type is decided by the file's content, not its name.",
    )
