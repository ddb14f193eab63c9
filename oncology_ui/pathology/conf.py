"""Pathology settings as one typed value, built from ``django.conf.settings`` when used.

The environment variables are read and validated at start-up in ``oncology_ui/settings.py``;
building the value at each use lets tests override the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

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
        max_upload_bytes=settings.PATHOLOGY_MAX_UPLOAD_MB * MIB,
        chunk_bytes=settings.PATHOLOGY_CHUNK_MB * MIB,
        original_retention_days=settings.PATHOLOGY_ORIGINAL_RETENTION_DAYS,
        open_slide_cache=settings.PATHOLOGY_OPEN_SLIDES,
        tile_cache_mb=settings.PATHOLOGY_TILE_CACHE_MB,
        upload_expiry_hours=settings.PATHOLOGY_UPLOAD_EXPIRY_HOURS,
    )
