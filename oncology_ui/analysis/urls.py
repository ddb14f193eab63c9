from __future__ import annotations

from django.urls import path

from oncology_ui.analysis import views

urlpatterns = [
    path("cases/<int:case_id>/analyse/", views.analysis_request, name="analysis-request"),
    path("models/<slug:name>/card/", views.model_card, name="analysis-model-card"),
]
