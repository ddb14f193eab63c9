from __future__ import annotations

from django.apps import AppConfig


class TrialsConfig(AppConfig):
    name = "oncology_ui.trials"
    label = "trials"
    verbose_name = "Clinical trials"
