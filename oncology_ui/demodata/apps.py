from __future__ import annotations

from django.apps import AppConfig


class DemoDataConfig(AppConfig):
    name = "oncology_ui.demodata"
    label = "demodata"
    verbose_name = "Demo data"
