"""Delete original uploads past their retention date and abandoned chunked uploads (cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from oncology_ui.pathology.services import pathology_purge


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        counts = pathology_purge()
        self.stdout.write(
            f"removed {counts['originals']} original upload(s), {counts['uploads']} unfinished"
        )
