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
    """One PACS connection: the one in settings (DICOMweb), or a :class:`PacsConnection` row.

    Args:
        url: the DICOMweb root (QIDO-RS, WADO-RS and STOW-RS under it); "" for DIMSE.
        username, password: HTTP basic credentials ("" for none); the password is read from the
            environment, never from the database.
        timeout_seconds: connect and read timeout of every request (DIMSE: of every message).
        max_study_bytes: most bytes one import may retrieve.
        verify: ``requests``' ``verify``: True, False, or the path of a CA bundle.
        transport: ``dicomweb`` or ``dimse`` (C-FIND, C-GET).
        host, port, calling_ae, called_ae: the DIMSE peer and the AE titles of both ends.
        tls: DIMSE over TLS (DICOMweb follows its URL's scheme).
        move_port: DIMSE retrieves with C-MOVE to our AE title on this port (0: C-GET).
        key: ``settings`` for the connection in settings, else the row's primary key.
        name: the connection's name, as people choose it.
        password_env: the environment variable the password is read from ("" for settings).
    """

    url: str
    username: str
    password: str
    timeout_seconds: int
    max_study_bytes: int
    verify: bool | str
    transport: str = "dicomweb"
    host: str = ""
    port: int = 0
    calling_ae: str = "ONCOBOARD"
    called_ae: str = ""
    tls: bool = False
    move_port: int = 0
    key: str = "settings"
    name: str = "PACS (settings)"
    password_env: str = ""

    def __repr__(self) -> str:  # never the password, in a traceback or a log line
        return (
            f"PacsSettings(key={self.key!r}, transport={self.transport!r}, url={self.url!r}, "
            f"host={self.host!r}, username={self.username!r}, password=***)"
        )


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
