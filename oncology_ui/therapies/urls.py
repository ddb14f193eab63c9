from __future__ import annotations

from django.urls import URLPattern, path

from oncology_ui.therapies import views

urlpatterns: list[URLPattern] = [
    path("cases/<int:case_id>/rank/", views.ranking_create, name="therapies-rank"),
    path("rankings/<int:ranking_id>/decide/", views.decision_create, name="therapies-decide"),
    path("rankings/<int:ranking_id>/whatif/", views.whatif, name="therapies-whatif"),
    path("rankings/<int:ranking_id>/ranking.json", views.ranking_json, name="therapies-json"),
]
