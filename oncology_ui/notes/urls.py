from __future__ import annotations

from django.urls import path

from oncology_ui.notes import views

urlpatterns = [
    path("cases/<int:case_id>/documents/new/", views.document_create, name="notes-document-create"),
    path("documents/<int:document_id>/", views.document_detail, name="notes-document"),
    path(
        "documents/<int:document_id>/accept-all/",
        views.document_accept_all,
        name="notes-document-accept-all",
    ),
    path("facts/<int:proposal_id>/accept/", views.proposal_accept, name="notes-fact-accept"),
    path("facts/<int:proposal_id>/reject/", views.proposal_reject, name="notes-fact-reject"),
    path("facts/<int:proposal_id>/edit/", views.proposal_edit, name="notes-fact-edit"),
]
