"""Export the site's cases with recorded outcomes as a de-identified training table.

    manage.py export_training_table --out exports/2026-12 [--user alice] [--cancer-type PRAD]

Writes ``site_training_table.csv`` and ``data_dictionary.md`` into ``--out``; the export is in
the access log (one row per patient). See docs/site_training_table.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncology_ui.patients.models import Case
from oncology_ui.sitelearn.export import training_table_export


class Command(BaseCommand):
    help = "Export the site's cases with outcomes as a de-identified training table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="folder to write the table into")
        parser.add_argument("--user", default="", help="username recorded in the access log")
        parser.add_argument("--cancer-type", default="", help="only this OncoTree code")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["user"]
        if username and not User.objects.filter(username=username).exists():
            raise CommandError(f"There is no user {username!r}.")
        out = Path(options["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} exists and is not a folder.")
        cases = Case.objects.filter(patient__is_demo=False)
        if options["cancer_type"]:
            cases = cases.filter(oncotree_code__iexact=options["cancer_type"].strip())
        table = training_table_export(
            out_dir=out, request=None, cases=cases, username=username or "manage.py"
        )
        self.stdout.write(
            f"wrote {table.rows} cases ({table.events} deaths) to {table.path} "
            f"with {table.dictionary.name}"
        )
