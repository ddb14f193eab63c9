from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "oncology_ui.reports"
    label = "reports"
    verbose_name = "PDF reports"
