from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from oncology_ui.core.audit import audit_verify_chain


class Command(BaseCommand):
    help = (
        "Verify the access log's keyed hash chain against the signed anchors in "
        "AUDIT_ANCHOR_PATH; name the first tampered row or the truncated tail."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify_chain()
        if not report.ok:
            where = (
                f"broken at row {report.first_bad_id}"
                if report.first_bad_id is not None
                else "broken"
            )
            raise CommandError(
                f"Audit chain {where}: {report.reason} ({report.rows_checked} rows checked)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact ({report.rows_checked} rows, "
                f"{report.anchors_checked} anchors matched): {report.reason}."
            )
        )
