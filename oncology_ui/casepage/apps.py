from __future__ import annotations

from django.apps import AppConfig


class CasePageConfig(AppConfig):
    name = "oncology_ui.casepage"
    label = "casepage"
    verbose_name = "Case page"

    def ready(self) -> None:
        # The job runner (core) runs every kind of job; the table of kinds is composed here.
        from oncology_ui.casepage.composition import JOB_KINDS
        from oncology_ui.core.jobs import job_kinds_install

        job_kinds_install(JOB_KINDS)
        # The timeline a patients view swaps in after an edit is the page's, documents included.
        from oncology_ui.casepage.composition import timeline_with_documents
        from oncology_ui.patients.sections import timeline_loader_install

        timeline_loader_install(timeline_with_documents)
