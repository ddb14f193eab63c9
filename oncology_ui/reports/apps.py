from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "oncology_ui.reports"
    label = "reports"
    verbose_name = "PDF reports"

    def ready(self) -> None:
        from oncology_ui.reports import services  # noqa: F401  (registers the packet job)
