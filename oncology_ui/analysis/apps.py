from __future__ import annotations

from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "oncology_ui.analysis"
    label = "analysis"
    verbose_name = "Model analysis"

    def ready(self) -> None:
        from oncology_ui.analysis import services  # noqa: F401  (registers the job handler)
        from oncology_ui.analysis.sections import prognosis_section
        from oncology_ui.patients.sections import section_register

        section_register("prognosis", prognosis_section)
