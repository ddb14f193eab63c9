from __future__ import annotations

from django.urls import path

from oncology_ui.casepage import views

# Mounted under ``patients/`` beside the patients app's own pages; the names keep their prefix.
urlpatterns = [
    path("cases/<int:case_id>/", views.case_detail, name="patients-case"),
    path(
        "cases/<int:case_id>/section/<slug:section>/",
        views.case_section,
        name="patients-case-section",
    ),
]
