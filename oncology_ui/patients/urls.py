from __future__ import annotations

from django.urls import path

from oncology_ui.patients import views

urlpatterns = [
    path("", views.patient_list, name="patients-list"),
    path("new/", views.patient_create, name="patients-create"),
    path("<int:patient_id>/", views.patient_detail, name="patients-detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="patients-edit"),
    path("<int:patient_id>/cases/new/", views.case_create, name="patients-case-create"),
    path("cases/<int:case_id>/edit/", views.case_edit, name="patients-case-edit"),
    path("cases/<int:case_id>/status/", views.case_status, name="patients-case-status"),
    path("cases/<int:case_id>/events/new/", views.event_create, name="patients-event-create"),
    path("cases/<int:case_id>/export/", views.case_export, name="patients-case-export"),
    path(
        "cases/<int:case_id>/export/<int:job_id>/download/",
        views.case_export_download,
        name="patients-case-export-download",
    ),
]
