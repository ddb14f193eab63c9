"""What the benchmarks that drive the app inside their own process (L1, P11) share: Django set up
on a database of their choosing, with every file the app writes under a throw-away folder."""

from __future__ import annotations

import os
from pathlib import Path


def django_in_process(work: Path, database_url: str, *, bench_id: str, **extra: str) -> None:
    """Set up Django in this process on ``database_url`` and migrate it.

    The secrets are throw-away ones named for the benchmark; media, audit anchors and state go
    under ``work``; Redis is off so jobs run in this process; ``extra`` adds settings (P11: its
    PACS).
    """
    prefix = bench_id.lower()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "oncology_ui.settings",
            "DATABASE_URL": database_url,
            "HTTPS": "false",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": f"{prefix}-" + "x" * 60,
            "AUDIT_HMAC_KEY": f"{prefix}-audit-" + "y" * 60,
            "AUDIT_ANCHOR_PATH": str(work / "anchors.log"),
            "MEDIA_ROOT": str(work / "media"),
            "ONCOBOARD_STATE_DIR": str(work / "state"),
            **extra,
        }
    )
    os.environ.pop("REDIS_URL", None)  # jobs run in this process
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
