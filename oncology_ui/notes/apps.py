from __future__ import annotations

from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "oncology_ui.notes"
    label = "notes"
    verbose_name = "Clinical documents and the facts read from them"
