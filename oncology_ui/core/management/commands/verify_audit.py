from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from oncology_ui.core.audit import audit_verify_chain


class Command(BaseCommand):
    help = "Verify the access log's hash chain and name the first tampered row."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at row {report.first_bad_id}: {report.reason} "
                f"({report.rows_checked} rows checked)"
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact ({report.rows_checked} rows)."))
