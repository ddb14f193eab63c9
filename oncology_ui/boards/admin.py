from __future__ import annotations

from django.contrib import admin

from oncology_ui.boards.models import Board


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ("name", "site", "specialty", "team")
