from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    """Register the shipped checkpoints after every ``migrate`` (and the test runner's flush),
    once the registry's tables exist, so routing always finds its rows."""
    from django.db import connections

    using = kwargs.get("using", "default")
    if "modelregistry_registeredmodel" not in connections[using].introspection.table_names():
        return  # migrated backwards past the registry
    from oncology_ui.modelregistry.services import models_sync

    models_sync()


class ModelRegistryConfig(AppConfig):
    name = "oncology_ui.modelregistry"
    label = "modelregistry"
    verbose_name = "Model registry"

    def ready(self) -> None:
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="oncoboard-models-sync")
