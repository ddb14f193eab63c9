"""``manage.py permissions_doc``: write the matrix of ``core/roles.py`` into docs/permissions.md.

Only the table between the two markers is generated; the prose around it is written by hand.
``--check`` changes nothing and exits 1 when the file is out of date (the suite checks the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncology_ui.core.roles import permissions_table

BEGIN = "<!-- BEGIN matrix: generated from core/roles.py by manage.py permissions_doc -->"
END = "<!-- END matrix -->"


def doc_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "permissions.md"


def permissions_doc(text: str) -> str:
    """``text`` (the current document) with the table between the markers regenerated."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"docs/permissions.md lacks the markers {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n{permissions_table()}{END}{tail}"


class Command(BaseCommand):
    help = "Regenerate the permission matrix table in docs/permissions.md from core/roles.py."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="only say whether it is current")

    def handle(self, *args: Any, **options: Any) -> None:
        path = doc_path()
        current = path.read_text(encoding="utf-8")
        wanted = permissions_doc(current)
        if options["check"]:
            if wanted != current:
                raise CommandError(f"{path} is out of date: run manage.py permissions_doc")
            self.stdout.write(f"{path} is current")
            return
        path.write_text(wanted, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
