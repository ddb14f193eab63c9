"""Imaging settings, read from the environment (each refused with a clear error when malformed).

Read when used (not at import) so a deployment's environment and the tests' overrides both apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from inference.imaging.schema import DateOption, ExtractLimits, SandboxLimits
from oncology_ui.core.env import env_int, env_str

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
    dates = env_str("IMAGING_DEID_DATES", "shift")
    if dates not in ("shift", "keep"):
        raise ImproperlyConfigured(f"IMAGING_DEID_DATES must be shift or keep, not {dates!r}")
    total_mb = env_int("IMAGING_MAX_UPLOAD_MB", 2048, minimum=1)
    return ImagingSettings(
        max_upload_bytes=total_mb * _MB,
        max_files=env_int("IMAGING_MAX_FILES", 5000, minimum=1),
        extract=ExtractLimits(
            max_entries=env_int("IMAGING_ZIP_MAX_ENTRIES", 20_000, minimum=1),
            max_total_bytes=env_int("IMAGING_ZIP_MAX_UNPACKED_MB", 8192, minimum=1) * _MB,
            max_entry_bytes=env_int("IMAGING_ZIP_MAX_ENTRY_MB", 1024, minimum=1) * _MB,
            max_ratio=float(env_int("IMAGING_ZIP_MAX_RATIO", 200, minimum=2)),
        ),
        sandbox=SandboxLimits(
            memory_bytes=env_int("IMAGING_SANDBOX_MEMORY_MB", 6144, minimum=128) * _MB,
            cpu_seconds=env_int("IMAGING_SANDBOX_CPU_SECONDS", 900, minimum=5),
            wall_seconds=float(env_int("IMAGING_SANDBOX_WALL_SECONDS", 1200, minimum=5)),
        ),
        dates="keep" if dates == "keep" else "shift",
        viewer_cache=env_int("IMAGING_VIEWER_CACHE", 8, minimum=1, maximum=256),
    )
