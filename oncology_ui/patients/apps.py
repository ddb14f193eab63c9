from __future__ import annotations

from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "oncology_ui.patients"
    label = "patients"
    verbose_name = "Patients and cases"

    def ready(self) -> None:
        # Registers this app's job handlers so any worker process can run them.
        from oncology_ui.patients import services  # noqa: F401
