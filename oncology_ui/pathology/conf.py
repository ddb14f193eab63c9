"""Pathology settings, read from the environment when first used (safe defaults).

Read lazily, not at import, so tests and deployments can change the environment before use;
each helper refuses a malformed value with an error naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from oncology_ui.core.env import env_int

MIB = 1024 * 1024


@dataclass(frozen=True)
class PathologySettings:
    """Attributes:
    max_upload_bytes: largest slide file accepted (``PATHOLOGY_MAX_UPLOAD_MB``, default 16 GiB).
    chunk_bytes: size of one chunk the uploader sends (``PATHOLOGY_CHUNK_MB``, default 8).
    original_retention_days: days the original upload is kept after a successful conversion
        (``PATHOLOGY_ORIGINAL_RETENTION_DAYS``; 0, the default, deletes it at once).
    open_slide_cache: de-identified slides the viewer keeps open per process
        (``PATHOLOGY_OPEN_SLIDES``).
    tile_cache_mb: rendered Deep Zoom tiles kept in memory per process
        (``PATHOLOGY_TILE_CACHE_MB``).
    upload_expiry_hours: an unfinished chunked upload is removed after this long
        (``PATHOLOGY_UPLOAD_EXPIRY_HOURS``).
    """

    max_upload_bytes: int
    chunk_bytes: int
    original_retention_days: int
    open_slide_cache: int
    tile_cache_mb: int
    upload_expiry_hours: int


def pathology_settings() -> PathologySettings:
    return PathologySettings(
        max_upload_bytes=env_int("PATHOLOGY_MAX_UPLOAD_MB", 16 * 1024, minimum=1) * MIB,
        chunk_bytes=env_int("PATHOLOGY_CHUNK_MB", 8, minimum=1, maximum=64) * MIB,
        original_retention_days=env_int(
            "PATHOLOGY_ORIGINAL_RETENTION_DAYS", 0, minimum=0, maximum=3650
        ),
        open_slide_cache=env_int("PATHOLOGY_OPEN_SLIDES", 8, minimum=1, maximum=256),
        tile_cache_mb=env_int("PATHOLOGY_TILE_CACHE_MB", 64, minimum=0, maximum=4096),
        upload_expiry_hours=env_int("PATHOLOGY_UPLOAD_EXPIRY_HOURS", 48, minimum=1),
    )
