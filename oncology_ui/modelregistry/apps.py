from __future__ import annotations

from django.apps import AppConfig


class ModelRegistryConfig(AppConfig):
    name = "oncology_ui.modelregistry"
    label = "modelregistry"
    verbose_name = "Model registry"
