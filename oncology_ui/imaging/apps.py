from __future__ import annotations

from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "oncology_ui.imaging"
    label = "imaging"
    verbose_name = "Radiology imaging"
