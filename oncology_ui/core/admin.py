"""Administrators manage users, care teams and roles here. Patient data is not in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from oncology_ui.core.models import Job, Team
from oncology_ui.core.services import user_sessions_end


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows shown in the admin that only the app's own pages and jobs create, change or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "target_model",
        "target_id",
        "status",
        "progress",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "kind"]
    readonly_fields = [field.name for field in Job._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.action(description="Sign the selected users out everywhere", permissions=["change"])
def end_sessions(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    ended = sum(user_sessions_end(user=user, request=request) for user in queryset)
    modeladmin.message_user(request, f"{ended} session(s) ended.")


class OncoBoardUserAdmin(UserAdmin):
    actions = [end_sessions]


admin.site.unregister(User)
admin.site.register(User, OncoBoardUserAdmin)
