"""``manage.py models_sync``: register the shipped checkpoints missing from the model registry.

``migrate`` runs the same sync after every migration; the command is for an installation whose
shipped weights changed without a migration. Existing rows and their states are left alone.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inference.runtime import CheckpointError
from oncology_ui.modelregistry.services import models_sync


class Command(BaseCommand):
    help = "Register the shipped checkpoints (idempotent; states of existing rows are kept)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = models_sync()
        except (CheckpointError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for row in created:
            self.stdout.write(f"registered {row.label} ({row.family}) as {row.state}")
        if not created:
            self.stdout.write("The registry already holds every shipped checkpoint.")
