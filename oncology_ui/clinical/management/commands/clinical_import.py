"""Bulk import of lab, variant and FHIR files into a case, through the same checks as an upload.

    manage.py clinical_import --case 12 labs.csv bundle.json tumour.vcf

Each file becomes a ``ClinicalImport`` with its background job (the RQ workers, or the in-process
executor of the embedded default, run it); the command waits for each and prints its report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncology_ui.clinical import services
from oncology_ui.clinical.models import ClinicalImport
from oncology_ui.core.models import Job
from oncology_ui.patients.commands import case_and_user


class Command(BaseCommand):
    help = "Import lab CSV, variant CSV, VCF, MAF or FHIR bundle files into a case."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="files to import, one import each")
        parser.add_argument("--case", type=int, required=True, help="the case id")
        parser.add_argument(
            "--kind", default="", choices=["", *ClinicalImport.Kind.values], help="default: detect"
        )
        parser.add_argument("--user", default="", help="username recorded as the importer")
        parser.add_argument("--no-wait", action="store_true", help="queue and return at once")
        parser.add_argument("--timeout", type=int, default=600, help="seconds to wait per file")

    def handle(self, *args: Any, **options: Any) -> None:
        case, user = case_and_user(options)
        failed = 0
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{path} is not a file.")
            with path.open("rb") as handle:
                try:
                    record = services.import_receive(
                        case=case,
                        user=user,
                        upload=handle,
                        name=path.name,
                        size=path.stat().st_size,
                        kind=options["kind"],
                    )
                except ValidationError as exc:
                    self.stderr.write(f"{path.name}: refused: {' '.join(exc.messages)}")
                    failed += 1
                    continue
            self.stdout.write(
                f"{path.name}: import {record.pk} queued ({record.get_kind_display()})"
            )
            if options["no_wait"]:
                continue
            record = self._wait(record, options["timeout"])
            failed += self._report(record)
        if failed:
            raise CommandError(f"{failed} file(s) were not imported.")

    def _wait(self, record: ClinicalImport, timeout: int) -> ClinicalImport:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record.refresh_from_db()
            job = Job.objects.filter(pk=record.job_id).first() if record.job_id else None
            if record.is_finished or (job is not None and job.is_finished):
                return record
            time.sleep(0.5)
        raise CommandError(
            f"Import {record.pk} did not finish in {timeout} s; is a worker running?"
        )

    def _report(self, record: ClinicalImport) -> int:
        if record.status == ClinicalImport.Status.IMPORTED:
            parts = [
                f"{part} {counts['new']} new, {counts['already_present']} already present"
                for part, counts in record.summary.items()
                if isinstance(counts, dict) and "new" in counts
            ]
            self.stdout.write(f"  imported: {'; '.join(parts)}")
            for warning in record.warnings[:20]:
                self.stdout.write(f"  note: {warning['where']}: {warning['message']}")
            return 0
        self.stderr.write(f"  nothing imported ({record.problem_count} problems):")
        for problem in record.problems[:50]:
            self.stderr.write(f"  {problem['where']}: {problem['message']}")
        return 1
