from __future__ import annotations

from django.apps import AppConfig


class BoardsConfig(AppConfig):
    name = "oncology_ui.boards"
    label = "boards"
    verbose_name = "Tumor boards"
