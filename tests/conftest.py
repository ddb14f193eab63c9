"""Suite-wide fixtures. Tests run against the real PostgreSQL and Redis named by
DATABASE_URL / REDIS_URL (the Makefile points them at the local servers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings


@pytest.fixture(autouse=True)
def _media_root(tmp_path: Path, settings: LazySettings) -> Iterator[Path]:
    """Every test writes files into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    yield settings.MEDIA_ROOT
