from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from oncology_ui.reports import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<int:case_id>/report.pdf", views.case_report, name="reports-case-report"),
    path("meetings/<int:meeting_id>/packet/", views.packet_request, name="reports-packet-request"),
    path("packets/<int:job_id>/", views.packet_status, name="reports-packet-status"),
    path("packets/<int:job_id>/packet.pdf", views.packet_download, name="reports-packet-download"),
]
