from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "oncology_ui.reports"
    label = "reports"
    verbose_name = "PDF reports"

    def ready(self) -> None:
        from oncology_ui.reports import services  # noqa: F401  (registers the packet job)
        from oncology_ui.reports.labs import labs_report_section
        from oncology_ui.reports.sources import report_source_register

        # The labs are the clinical app's rows, but how they print is the report's business.
        report_source_register("labs", labs_report_section)
