"""The PACS connections people choose among: the one in settings and those in the admin.

A connection is identified by a key: ``settings`` for ``PACS_DICOMWEB_URL``, the row's primary
key for a :class:`PacsConnection`. Its password is read from the environment variable the row
names, at each use; the database holds the variable's name only.
"""

from __future__ import annotations

import os

from oncology_ui.imaging.conf import PacsSettings, pacs_settings
from oncology_ui.imaging.models import PacsConnection

SETTINGS_KEY = "settings"
_MB = 1024 * 1024


def _from_row(row: PacsConnection) -> PacsSettings:
    verify: bool | str = row.tls_verify
    if verify and row.tls_ca_bundle:
        verify = row.tls_ca_bundle
    return PacsSettings(
        url=row.url.rstrip("/"),
        username=row.username,
        password=os.environ.get(row.password_env, "") if row.password_env else "",
        timeout_seconds=row.timeout_seconds,
        max_study_bytes=row.max_study_mb * _MB,
        verify=verify,
        transport=row.transport,
        host=row.host,
        port=row.port or 0,
        calling_ae=row.calling_ae_title.strip(),
        called_ae=row.called_ae_title.strip(),
        tls=row.tls,
        move_port=row.move_port or 0,
        key=str(row.pk),
        name=row.name,
        password_env=row.password_env,
    )


def pacs_connections() -> list[PacsSettings]:
    """Every usable connection: the one in settings first (when set), then enabled rows by name."""
    found = [conf] if (conf := pacs_settings()) is not None else []
    found += [_from_row(row) for row in PacsConnection.objects.filter(enabled=True)]
    return found


def pacs_connection(key: str) -> PacsSettings | None:
    """The connection of ``key`` ("" means the first one), or None when there is no such one."""
    if key in ("", SETTINGS_KEY):
        conf = pacs_settings()
        if conf is not None or key == SETTINGS_KEY:
            return conf
        row = PacsConnection.objects.filter(enabled=True).first()
        return _from_row(row) if row is not None else None
    if not key.isdigit():
        return None
    row = PacsConnection.objects.filter(pk=int(key), enabled=True).first()
    return _from_row(row) if row is not None else None
