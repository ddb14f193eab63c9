from __future__ import annotations

from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "oncology_ui.patients"
    label = "patients"
    verbose_name = "Patients and cases"
