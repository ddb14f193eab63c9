from __future__ import annotations

from django.apps import AppConfig


class CohortsConfig(AppConfig):
    name = "oncology_ui.cohorts"
    label = "cohorts"
    verbose_name = "Cohort analytics and model monitoring"
