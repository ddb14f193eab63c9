from __future__ import annotations

from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "oncology_ui.imaging"
    label = "imaging"
    verbose_name = "Radiology imaging"

    def ready(self) -> None:
        from oncology_ui.analysis.adapters import snapshot_part_register
        from oncology_ui.core import roles
        from oncology_ui.imaging import services  # noqa: F401  (registers the ingest job)
        from oncology_ui.imaging.model_inputs import IMAGING_SNAPSHOT_PART, imaging_report_section
        from oncology_ui.imaging.sections import imaging_section
        from oncology_ui.patients.sections import section_register
        from oncology_ui.reports.sources import report_source_register

        view = (
            "imaging.view_imagingupload",
            "imaging.view_imagingstudy",
            "imaging.view_imagingseries",
            "imaging.view_imagingregion",
            "imaging.view_recistassessment",
        )
        measure = ("imaging.add_imagingupload", "imaging.add_recistassessment")
        roles.roles_register(
            {
                roles.ONCOLOGIST: (*view, *measure),
                roles.RADIOLOGIST: (
                    *view,
                    *measure,
                    "imaging.view_quarantinedinstance",
                    "imaging.change_quarantinedinstance",
                ),
                roles.PATHOLOGIST: view,
                roles.TRIAL_COORDINATOR: view,
            }
        )
        section_register("imaging", imaging_section)
        snapshot_part_register("imaging", IMAGING_SNAPSHOT_PART)
        report_source_register("imaging", imaging_report_section)
