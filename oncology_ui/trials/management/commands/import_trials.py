"""Import ClinicalTrials.gov records into the trial corpus, through the same service as an upload.

    manage.py import_trials study.json legacy.xml ../shared/data/ctgov-trials/trials.jsonl.gz
    manage.py import_trials --shipped          # the oncology subset in inference/trials/data

Trials are updated in place by NCT id; a file that cannot be read is refused and leaves the
corpus as it was. Runs in this process (no worker needed) and prints each import's report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncology_ui.trials import imports
from oncology_ui.trials.models import TrialCorpusImport


class Command(BaseCommand):
    help = "Import ClinicalTrials.gov API v2 JSON, legacy XML or JSON-lines files (gzip is fine)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", help="files to import, one import each")
        parser.add_argument("--shipped", action="store_true", help="load the shipped subset")
        parser.add_argument(
            "--no-embeddings",
            action="store_true",
            help="do not compute MiniLM vectors for new trials (they are then found by BM25 only)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["files"] and not options["shipped"]:
            raise CommandError("Name at least one file, or use --shipped.")
        failed = 0
        if options["shipped"]:
            failed += self._report(imports.trial_corpus_load_shipped(progress=self._progress))
        encode = None if options["no_embeddings"] else imports.default_encoder()
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            record = imports.trial_corpus_import_file(
                path=path, encode=encode, progress=self._progress
            )
            failed += self._report(record)
        if failed:
            raise CommandError(f"{failed} import(s) refused; the corpus is unchanged by them.")

    def _progress(self, percent: int, message: str) -> None:
        self.stderr.write(f"  {percent:3d}% {message}")

    def _report(self, record: TrialCorpusImport) -> int:
        style = self.style.SUCCESS if record.status == record.Status.IMPORTED else self.style.ERROR
        self.stdout.write(style(f"{record.original_name}: {record.message}"))
        if record.embeddings:
            self.stdout.write(f"  vectors: {record.embeddings}")
        for error in record.errors[:20]:
            self.stdout.write(f"  skipped {error['ref']}: {error['reason']}")
        if record.error_count > 20:
            self.stdout.write(f"  … and {record.error_count - 20} more (see the import page)")
        return 0 if record.status == record.Status.IMPORTED else 1
