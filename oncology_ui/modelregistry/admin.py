"""Read-only admin views: states change only through the two-person pages of the registry."""

from __future__ import annotations

from django.contrib import admin

from oncology_ui.core.admin import ReadOnlyAdmin
from oncology_ui.modelregistry.models import ModelStateChange, RegisteredModel


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "family", "state", "commercial_use", "created_at")
    list_filter = ("state", "family")


@admin.register(ModelStateChange)
class ModelStateChangeAdmin(ReadOnlyAdmin):
    list_display = ("model", "from_state", "to_state", "status", "requested_by", "approved_by")
    list_filter = ("status",)
