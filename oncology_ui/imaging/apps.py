from __future__ import annotations

from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "oncology_ui.imaging"
    label = "imaging"
    verbose_name = "Radiology imaging"

    def ready(self) -> None:
        # The results-to-PACS job is installed here until casepage.composition lists it with
        # the other kinds (installing the same kind twice is allowed).
        from oncology_ui.core.jobs import JobKind, job_kinds_install
        from oncology_ui.imaging import pacs_results

        job_kinds_install(
            {pacs_results.RESULTS_JOB: JobKind(pacs_results.pacs_results_run, "Results to PACS")}
        )
