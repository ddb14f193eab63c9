from __future__ import annotations

from django.apps import AppConfig


class TherapiesConfig(AppConfig):
    name = "oncology_ui.therapies"
    label = "therapies"
    verbose_name = "Therapy ranking"
