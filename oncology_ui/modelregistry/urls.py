from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from oncology_ui.modelregistry import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.model_list, name="modelregistry-list"),
    path("<int:model_id>/", views.model_detail, name="modelregistry-detail"),
    path("<int:model_id>/request/", views.change_request, name="modelregistry-request"),
    path("changes/", views.change_list, name="modelregistry-changes"),
    path("changes/<int:change_id>/approve/", views.change_approve, name="modelregistry-approve"),
    path("changes/<int:change_id>/reject/", views.change_reject, name="modelregistry-reject"),
    path("changes/<int:change_id>/cancel/", views.change_cancel, name="modelregistry-cancel"),
    path("changes/<int:change_id>/rollback/", views.change_rollback, name="modelregistry-rollback"),
]
