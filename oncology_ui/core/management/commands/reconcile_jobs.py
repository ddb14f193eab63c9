from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from oncology_ui.core.jobs import jobs_reconcile


class Command(BaseCommand):
    help = "Requeue or fail jobs orphaned by a killed worker or a lost Redis queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-after",
            type=int,
            default=None,
            help="seconds without a heartbeat before a running job counts as orphaned "
            "(default: JOBS_STALE_AFTER_SECONDS, 90)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stale = options["stale_after"]
        counts = jobs_reconcile(stale_after=timedelta(seconds=stale) if stale else None)
        self.stdout.write(f"requeued {counts['requeued']}, failed {counts['failed']}")
