"""Import DICOM studies from disk into a case, through the same checks as an upload.

    manage.py imaging_import --case 12 study.zip            # a zip, as from a PACS export
    manage.py imaging_import --case 12 /media/cd/DICOM      # a folder (DICOMDIR paths ignored)
    manage.py imaging_import --case 12 tests/fixtures/dicom/sts_002 --run-here   # the demo study

Each argument becomes one ``ImagingUpload`` with its ingest job. By default the job runs on the
workers (or the in-process executor) and the command waits for it; ``--run-here`` runs it in this
process instead (for sites without a worker, and the demo).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncology_ui.core.jobs import job_run
from oncology_ui.imaging import services
from oncology_ui.imaging.models import ImagingUpload
from oncology_ui.patients.commands import case_and_user
from oncology_ui.patients.models import Case


class Command(BaseCommand):
    help = "Import DICOM studies (zip files or folders) into a case."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="zip files or folders, one upload each")
        parser.add_argument("--case", type=int, required=True, help="the case id")
        parser.add_argument("--user", default="", help="username recorded as the uploader")
        parser.add_argument(
            "--run-here", action="store_true", help="run the ingest in this process"
        )
        parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait per upload")

    def handle(self, *args: Any, **options: Any) -> None:
        case, user = case_and_user(options)
        for raw in options["paths"]:
            path = Path(raw)
            if not path.exists():
                raise CommandError(f"{path} does not exist.")
            upload = self._receive(case, user, path)
            if options["run_here"] and upload.job is not None:
                job_run(upload.job.pk)
            upload = self._wait(upload, options["timeout"])
            self._report(path, upload)

    def _receive(self, case: Case, user: User | None, path: Path) -> ImagingUpload:
        paths = (
            [path]
            if path.is_file()
            else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        )
        root = path if path.is_dir() else path.parent
        with ExitStack() as stack:
            files = [
                File(stack.enter_context(p.open("rb")), name=p.relative_to(root).as_posix())
                for p in paths
            ]
            try:
                return services.upload_receive(case=case, user=user, files=files)
            except ValidationError as exc:
                raise CommandError(f"{path}: {' '.join(exc.messages)}") from exc

    def _wait(self, upload: ImagingUpload, timeout: int) -> ImagingUpload:
        deadline = time.monotonic() + timeout
        while True:
            upload.refresh_from_db()
            if upload.is_finished or time.monotonic() > deadline:
                return upload
            time.sleep(1.0)

    def _report(self, path: Path, upload: ImagingUpload) -> None:
        counts = upload.counts
        line = (
            f"{path}: {upload.get_status_display()} — {counts.get('series', 0)} series, "
            f"{counts.get('instances', 0)} images, {counts.get('regions', 0)} regions, "
            f"{counts.get('quarantined', 0)} held for review, {counts.get('problems', 0)} problems"
        )
        if upload.error:
            line += f"\n  {upload.error}"
        for problem in upload.problems[:20]:
            line += f"\n  {problem['message']}"
        if not upload.is_finished:
            line += "\n  still running; see the case page"
        self.stdout.write(line)
