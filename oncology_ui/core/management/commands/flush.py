"""``manage.py flush`` would empty the access log along with everything else: refuse it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.test import utils


class Command(flush.Command):
    help = "Refused: flushing would erase the append-only access log (docs/audit.md)."

    def handle(self, **options: Any) -> None:
        # Django's test runner empties its throwaway database with this command between
        # transactional tests; it marks its environment with saved state, which a deployment
        # never has.
        if getattr(utils._TestState, "saved_data", None) is None:
            raise CommandError(
                "flush is disabled: the access log is append-only and may not be emptied. "
                "Drop and recreate a demo database instead."
            )
        super().handle(**options)
