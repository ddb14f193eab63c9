"""Receive studies pushed by the PACS or a modality (DICOM C-STORE SCP).

    manage.py dicom_scp          # listens on DICOM_SCP_HOST:DICOM_SCP_PORT as DICOM_SCP_AE_TITLE

Only the calling AE titles in ``DICOM_SCP_ALLOWED_AE_TITLES`` may connect. Each released
association is handed to the ingest at once (one upload per patient); see
:mod:`oncology_ui.imaging.scp`. Run it under systemd beside the web and worker units.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from oncology_ui.imaging.scp import StoreReceiver, scp_server, scp_settings, scp_spool_drain


def _drain() -> None:
    try:
        scp_spool_drain()
    finally:
        connections.close_all()  # this association thread's own connection


class Command(BaseCommand):
    help = "Run the DICOM C-STORE SCP that feeds pushed studies into the imaging ingest."

    def handle(self, *args: Any, **options: Any) -> None:
        conf = scp_settings()
        if not conf.allowed_calling:
            raise CommandError(
                "Set DICOM_SCP_ALLOWED_AE_TITLES (comma-separated calling AE titles) first."
            )
        _drain()  # what a previous run received but did not hand over
        self.stdout.write(
            f"C-STORE SCP {conf.ae_title} on {conf.host}:{conf.port}, accepting "
            f"{', '.join(conf.allowed_calling)}"
        )
        scp_server(conf, StoreReceiver(conf, on_ready=_drain), block=True)
