from __future__ import annotations

from django.apps import AppConfig


class PathologyConfig(AppConfig):
    name = "oncology_ui.pathology"
    label = "pathology"
    verbose_name = "Pathology slides"
