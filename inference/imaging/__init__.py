"""Radiology DICOM: safe intake, sandboxed parsing, de-identification, volumes, features, RECIST.

Modules (each documents its public functions; dataclasses live in :mod:`.schema`):

* :mod:`.archive` - ``safe_extract`` for uploaded ZIPs, ``list_extracted_files``
* :mod:`.sandbox` - ``run_sandboxed``: :mod:`inference.sandbox` for imaging targets
* :mod:`.dicom_format` - ``DicomFileError`` and its ``ERROR_KINDS``, the supported encodings
* :mod:`.dicom_fast` - the fast little-endian element walker (headers, native single frames)
* :mod:`.dicom_read` - ``read_dataset``: one untrusted file through pydicom
* :mod:`.dicom_index` - ``index_files`` (study -> series -> instances)
* :mod:`.deid` - PS3.15 Annex E ``deidentify_file`` / ``deidentify_files``
* :mod:`.volume` - ``load_series`` -> :class:`.schema.Volume`
* :mod:`.pet` - ``suv_conversion``, ``to_suv``
* :mod:`.regions` - ``rtstruct_masks``, ``seg_masks``, ``load_regions``
* :mod:`.features` - ``lesion_features``, ``study_features`` -> :class:`.schema.ImagingFeatures`
* :mod:`.recist` - ``assess`` (RECIST 1.1)
* :mod:`.render` - ``render_slice`` -> PNG bytes
* :mod:`.ingest` - ``process_upload``: a whole upload in one sandboxed child
* :mod:`.store` - stored volumes and masks (``.npy``) mapped read-only for the viewer

Nothing is imported here so that the sandbox child starts quickly.
"""

from __future__ import annotations
