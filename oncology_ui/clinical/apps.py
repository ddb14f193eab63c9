from __future__ import annotations

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "oncology_ui.clinical"
    label = "clinical"
    verbose_name = "Clinical, lab and molecular data"
