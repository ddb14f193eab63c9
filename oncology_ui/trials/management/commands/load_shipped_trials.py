"""Load (or refresh) the shipped oncology trial subset with its precomputed vectors.

    manage.py load_shipped_trials

Same as ``import_trials --shipped``; kept as its own name for the demo seed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from oncology_ui.trials import imports


class Command(BaseCommand):
    help = "Load the shipped oncology subset (inference/trials/data) into the trial corpus."

    def handle(self, *args: Any, **options: Any) -> None:
        record = imports.trial_corpus_load_shipped()
        self.stdout.write(self.style.SUCCESS(f"{record.original_name}: {record.message}"))
        self.stdout.write(f"  vectors: {record.embeddings}")
