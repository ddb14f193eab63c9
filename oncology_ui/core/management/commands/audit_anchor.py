from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from oncology_ui.core.audit import AuditChainBroken, audit_anchor_append


class Command(BaseCommand):
    help = (
        "Append a signed checkpoint of the access log (row count, head id and hash) to "
        "AUDIT_ANCHOR_PATH, after checking the rows written since the last one. Run from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            anchor, _report = audit_anchor_append()
        except AuditChainBroken as broken:
            report = broken.report
            where = f" at row {report.first_bad_id}" if report.first_bad_id else ""
            raise CommandError(
                f"Not anchored: audit chain broken{where}: {report.reason}"
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Anchored {anchor.rows} rows up to id {anchor.head_id} "
                f"in {settings.AUDIT_ANCHOR_PATH}."
            )
        )
