"""Load the shipped therapy knowledge base (``oncology_ui/therapies/kb``) into the database.

Runs on a fresh database and again after an update; a file that fails validation is refused
whole (file and line named) and the previous version stays active.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.therapy.kbfiles import KbFileError
from oncology_ui.therapies import KB_DIR
from oncology_ui.therapies.kb import kb_active, kb_load


class Command(BaseCommand):
    help = "Validate and load the therapy knowledge base; the previous version stays on error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--folder", type=Path, default=KB_DIR)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = kb_load(folder=options["folder"])
        except KbFileError as exc:
            active = kb_active()
            still = f"version {active.version} stays active" if active else "no version is active"
            raise CommandError(
                f"Knowledge base refused: {exc}. Nothing was loaded; {still}."
            ) from exc
        kb = report.kb
        what = "loaded" if report.created else "already loaded, now active"
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in kb.counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Therapy knowledge base {kb.version} {what}: {counts}")
        )
