from __future__ import annotations

from django import forms

from oncology_ui.core.forms import MultipleFileField


class SlideUploadForm(forms.Form):
    """The plain upload form (the chunked uploader replaces it when JavaScript runs)."""

    file = forms.FileField(
        label="Slide file",
        help_text="SVS, NDPI-exported TIFF, pyramidal TIFF or OME-TIFF, a DICOM whole-slide image "
        "(one file, or its folder as a ZIP archive), JPEG or PNG micrograph. The type is decided "
        "by the file's content, not its name.",
    )


class DicomFilesForm(forms.Form):
    """The files of one DICOM whole-slide image, sent together (plain form)."""

    dicom_files = MultipleFileField(
        label="DICOM files of one slide",
        help_text="Every file of the slide's folder (one instance per pyramid level, label and "
        "overview optional). They are stored as one slide.",
        error_messages={"required": "Choose the DICOM files of the slide."},
    )
