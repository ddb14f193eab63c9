from __future__ import annotations

from django.apps import AppConfig


class TrialsConfig(AppConfig):
    name = "oncology_ui.trials"
    label = "trials"
    verbose_name = "Clinical trials"

    def ready(self) -> None:
        from oncology_ui.core import roles
        from oncology_ui.patients.sections import section_register
        from oncology_ui.reports.sources import report_source_register
        from oncology_ui.trials import imports, services  # noqa: F401  (job handlers)
        from oncology_ui.trials.sections import trials_report_source, trials_section

        view = ("trials.view_trial", "trials.view_trialmatchresult")
        roles.roles_register(
            {
                roles.ONCOLOGIST: (
                    *view,
                    "trials.add_trialmatchresult",
                    "trials.add_referral",
                    "trials.view_referral",
                ),
                roles.PATHOLOGIST: view,
                roles.RADIOLOGIST: view,
                roles.TRIAL_COORDINATOR: (
                    *view,
                    "trials.add_trialmatchresult",
                    "trials.match_patients",
                    "trials.view_referral",
                    "trials.view_worklistentry",
                    "trials.add_worklistentry",
                    "trials.change_worklistentry",
                    "trials.export_worklist",
                    "trials.view_savedsearch",
                    "trials.add_savedsearch",
                    "trials.delete_savedsearch",
                ),
                roles.ADMINISTRATOR: (
                    "trials.view_trial",
                    "trials.view_trialcorpusimport",
                    "trials.add_trialcorpusimport",
                ),
            }
        )
        section_register("trials", trials_section)
        report_source_register("trials", trials_report_source)
