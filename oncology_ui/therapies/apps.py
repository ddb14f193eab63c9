from __future__ import annotations

from django.apps import AppConfig

# What each role may do with therapy rankings (docs/permissions.md carries the same rows).
THERAPY_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "oncologist": (
        "therapies.view_therapyranking",
        "therapies.add_therapyranking",
        "therapies.view_therapydecision",
        "therapies.add_therapydecision",
        "therapies.view_knowledgebase",
    ),
    "pathologist": ("therapies.view_therapyranking", "therapies.view_therapydecision"),
    "radiologist": ("therapies.view_therapyranking", "therapies.view_therapydecision"),
    "trial coordinator": ("therapies.view_therapyranking", "therapies.view_therapydecision"),
    "administrator": ("therapies.view_knowledgebase",),
}


class TherapiesConfig(AppConfig):
    name = "oncology_ui.therapies"
    label = "therapies"
    verbose_name = "Therapy ranking"

    def ready(self) -> None:
        from oncology_ui.boards.hooks import therapy_options_register
        from oncology_ui.core.roles import roles_register
        from oncology_ui.patients.sections import section_register
        from oncology_ui.reports.sources import (
            knowledge_base_version_register,
            report_source_register,
        )
        from oncology_ui.therapies.kb import kb_active_version
        from oncology_ui.therapies.report import therapies_report_section
        from oncology_ui.therapies.selectors import therapies_section, therapy_option_labels

        roles_register(THERAPY_PERMISSIONS)
        section_register("therapies", therapies_section)
        therapy_options_register(therapy_option_labels)
        report_source_register("therapies", therapies_report_section)
        knowledge_base_version_register(kb_active_version)
