"""Read-only admin views: states change only through the two-person pages of the registry."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from oncology_ui.modelregistry.models import ModelStateChange, RegisteredModel


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(_ReadOnly):
    list_display = ("name", "version", "family", "state", "commercial_use", "created_at")
    list_filter = ("state", "family")


@admin.register(ModelStateChange)
class ModelStateChangeAdmin(_ReadOnly):
    list_display = ("model", "from_state", "to_state", "status", "requested_by", "approved_by")
    list_filter = ("status",)
