"""Imaging settings as one typed value, built from ``django.conf.settings`` when used.

The environment variables are read and validated at start-up in ``oncology_ui/settings.py``;
building the value at each use lets tests override the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from inference.imaging.schema import DateOption, ExtractLimits, SandboxLimits

_MB = 1024 * 1024


@dataclass(frozen=True)
class ImagingSettings:
    """Limits of the imaging upload and ingest.

    Args:
        max_upload_bytes: largest upload (one zip, or the sum of many files).
        max_files: most files in one multi-file upload (a zip may hold more, up to its limit).
        extract: zip limits (entries, bytes, ratio).
        sandbox: memory, CPU and wall-clock limits of the one parser child per upload.
        dates: ``shift`` (default) or ``keep`` dates in the de-identified files.
        viewer_cache: volumes kept open per process by the viewer.
    """

    max_upload_bytes: int
    max_files: int
    extract: ExtractLimits
    sandbox: SandboxLimits
    dates: DateOption
    viewer_cache: int


def imaging_settings() -> ImagingSettings:
    return ImagingSettings(
        max_upload_bytes=settings.IMAGING_MAX_UPLOAD_MB * _MB,
        max_files=settings.IMAGING_MAX_FILES,
        extract=ExtractLimits(
            max_entries=settings.IMAGING_ZIP_MAX_ENTRIES,
            max_total_bytes=settings.IMAGING_ZIP_MAX_UNPACKED_MB * _MB,
            max_entry_bytes=settings.IMAGING_ZIP_MAX_ENTRY_MB * _MB,
            max_ratio=float(settings.IMAGING_ZIP_MAX_RATIO),
        ),
        sandbox=SandboxLimits(
            memory_bytes=settings.IMAGING_SANDBOX_MEMORY_MB * _MB,
            cpu_seconds=settings.IMAGING_SANDBOX_CPU_SECONDS,
            wall_seconds=float(settings.IMAGING_SANDBOX_WALL_SECONDS),
        ),
        dates="keep" if settings.IMAGING_DEID_DATES == "keep" else "shift",
        viewer_cache=settings.IMAGING_VIEWER_CACHE,
    )


@dataclass(frozen=True)
class PacsSettings:
    """The PACS connection (DICOMweb), from the environment only.

    Args:
        url: the DICOMweb root (QIDO-RS and WADO-RS under it).
        username, password: HTTP basic credentials ("" for none).
        timeout_seconds: connect and read timeout of every request.
        max_study_bytes: most bytes one import may retrieve.
        verify: ``requests``' ``verify``: True, False, or the path of a CA bundle.
    """

    url: str
    username: str
    password: str
    timeout_seconds: int
    max_study_bytes: int
    verify: bool | str

    def __repr__(self) -> str:  # never the password, in a traceback or a log line
        return f"PacsSettings(url={self.url!r}, username={self.username!r}, password=***)"


def pacs_settings() -> PacsSettings | None:
    """The configured PACS, or None when ``PACS_DICOMWEB_URL`` is not set."""
    if not settings.PACS_DICOMWEB_URL:
        return None
    verify: bool | str = settings.PACS_TLS_VERIFY
    if verify and settings.PACS_TLS_CA_BUNDLE:
        verify = settings.PACS_TLS_CA_BUNDLE
    return PacsSettings(
        url=settings.PACS_DICOMWEB_URL.rstrip("/"),
        username=settings.PACS_USERNAME,
        password=settings.PACS_PASSWORD,
        timeout_seconds=settings.PACS_TIMEOUT_SECONDS,
        max_study_bytes=settings.PACS_MAX_STUDY_MB * _MB,
        verify=verify,
    )
