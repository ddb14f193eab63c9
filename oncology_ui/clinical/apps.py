from __future__ import annotations

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "oncology_ui.clinical"
    label = "clinical"
    verbose_name = "Clinical, lab and molecular data"

    def ready(self) -> None:
        from oncology_ui.clinical import exports, services  # noqa: F401  (job handlers)
        from oncology_ui.clinical.sections import labs_section, molecular_section
        from oncology_ui.core import roles
        from oncology_ui.patients.sections import section_register

        view = (
            "clinical.view_clinicalimport",
            "clinical.view_labresult",
            "clinical.view_variant",
            "clinical.view_biomarker",
            "clinical.view_clinicalfact",
        )
        roles.roles_register(
            {
                roles.ONCOLOGIST: (*view, "clinical.add_clinicalimport", "clinical.add_biomarker"),
                roles.PATHOLOGIST: (*view, "clinical.add_biomarker"),
                roles.RADIOLOGIST: view,
                roles.TRIAL_COORDINATOR: view,
            }
        )
        section_register("labs", labs_section)
        section_register("molecular", molecular_section)
