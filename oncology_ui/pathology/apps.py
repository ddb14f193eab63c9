from __future__ import annotations

from django.apps import AppConfig


class PathologyConfig(AppConfig):
    name = "oncology_ui.pathology"
    label = "pathology"
    verbose_name = "Pathology slides"

    def ready(self) -> None:
        from oncology_ui.analysis.adapters import SnapshotPart, snapshot_part_register
        from oncology_ui.core import roles
        from oncology_ui.pathology import jobs  # noqa: F401  (job handler)
        from oncology_ui.pathology.report import slide_report_section
        from oncology_ui.pathology.sections import pathology_section
        from oncology_ui.pathology.snapshot import slides_snapshot, slides_to_inputs
        from oncology_ui.patients.sections import section_register
        from oncology_ui.reports.sources import report_source_register

        view = ("pathology.view_slide",)
        manage = (*view, "pathology.add_slide", "pathology.delete_slide")
        roles.roles_register(
            {
                roles.PATHOLOGIST: manage,
                roles.ONCOLOGIST: manage,
                roles.RADIOLOGIST: view,
                roles.TRIAL_COORDINATOR: view,
            }
        )
        section_register("pathology", pathology_section)
        snapshot_part_register(
            "slides", SnapshotPart(build=slides_snapshot, to_inputs=slides_to_inputs)
        )
        report_source_register("slide", slide_report_section)
