"""PACS connections are configured here; their passwords stay in the environment."""

from __future__ import annotations

from django.contrib import admin

from oncology_ui.imaging.models import PacsConnection


@admin.register(PacsConnection)
class PacsConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "transport", "url", "host", "port", "called_ae_title", "enabled")
    list_filter = ("transport", "enabled")
    fieldsets = (
        (None, {"fields": ("name", "transport", "enabled")}),
        ("DICOMweb", {"fields": ("url", "username")}),
        (
            "DIMSE",
            {"fields": ("host", "port", "calling_ae_title", "called_ae_title", "move_port")},
        ),
        (
            "Security",
            {
                "fields": ("password_env", "tls", "tls_verify", "tls_ca_bundle"),
                "description": "The password is never stored: name the environment variable "
                "of the OncoBoard server that holds it.",
            },
        ),
        ("Limits", {"fields": ("timeout_seconds", "max_study_mb")}),
    )
