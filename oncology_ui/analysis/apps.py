from __future__ import annotations

from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "oncology_ui.analysis"
    label = "analysis"
    verbose_name = "Model analysis"
