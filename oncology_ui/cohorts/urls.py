from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from oncology_ui.cohorts import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.cohort_builder, name="cohorts-builder"),
    path("export.csv", views.cohort_export_csv, name="cohorts-export-csv"),
    path("monitoring/", views.monitoring, name="cohorts-monitoring"),
    path("export.png", views.cohort_export_png, name="cohorts-export-png"),
]
