from __future__ import annotations

from django.apps import AppConfig


class GenerativeConfig(AppConfig):
    name = "oncology_ui.generative"
    label = "generative"
    verbose_name = "Generative tumour model"
