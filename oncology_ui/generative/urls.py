from __future__ import annotations

from django.urls import path

from oncology_ui.generative import views

urlpatterns = [
    path("cases/<int:case_id>/profile/", views.profile_request, name="generative-profile"),
    path("cases/<int:case_id>/experiment/", views.experiment_request, name="generative-experiment"),
]
