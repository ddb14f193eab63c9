from __future__ import annotations

from django.urls import path

from oncology_ui.trials import views

# Literal prefixes first: "<str:nct_id>/" would otherwise swallow them.
urlpatterns = [
    path("", views.trial_search, name="trials-search"),
    path("searches/save/", views.saved_search_create, name="trials-search-save"),
    path(
        "searches/<int:search_id>/delete/", views.saved_search_delete, name="trials-search-delete"
    ),
    path("worklist/", views.worklist, name="trials-worklist"),
    path("worklist/export.csv", views.worklist_export, name="trials-worklist-export"),
    path("worklist/<int:entry_id>/move/", views.worklist_move, name="trials-worklist-move"),
    path("import/", views.corpus_import, name="trials-import"),
    path("import/<int:import_id>/", views.corpus_import_detail, name="trials-import-detail"),
    path("cases/<int:case_id>/match/", views.match_request, name="trials-match"),
    path("cases/<int:case_id>/matches/", views.case_matches, name="trials-case-matches"),
    path("cases/<int:case_id>/refer/", views.referral_create, name="trials-refer"),
    path("<str:nct_id>/", views.trial_detail, name="trials-detail"),
    path("<str:nct_id>/rank/", views.reverse_match_request, name="trials-reverse-match"),
    path("<str:nct_id>/ranking/", views.reverse_ranking, name="trials-reverse-ranking"),
    path("<str:nct_id>/worklist/add/", views.worklist_add, name="trials-worklist-add"),
]
