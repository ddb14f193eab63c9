from __future__ import annotations

from typing import Any

from django import forms


class SlideUploadForm(forms.Form):
    """The plain upload form (the chunked uploader replaces it when JavaScript runs)."""

    file = forms.FileField(
        label="Slide file",
        help_text="SVS, NDPI-exported TIFF, pyramidal TIFF or OME-TIFF, a DICOM whole-slide image "
        "(one file, or its folder as a ZIP archive), JPEG or PNG micrograph. The type is decided "
        "by the file's content, not its name.",
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class DicomFilesForm(forms.Form):
    """The files of one DICOM whole-slide image, sent together (plain form)."""

    dicom_files = MultipleFileField(
        label="DICOM files of one slide",
        help_text="Every file of the slide's folder (one instance per pyramid level, label and "
        "overview optional). They are stored as one slide.",
    )
