from __future__ import annotations

from django.urls import path

from oncology_ui.sitelearn import views

urlpatterns = [
    path("recalibration/", views.recalibration_list, name="sitelearn-recalibration"),
    path(
        "recalibration/<int:model_id>/start/",
        views.recalibration_start,
        name="sitelearn-recalibration-start",
    ),
    path(
        "recalibration/<int:model_id>/report/",
        views.recalibration_report,
        name="sitelearn-recalibration-report",
    ),
]
