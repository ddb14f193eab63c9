from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from oncology_ui.imaging import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<int:case_id>/upload/", views.upload_page, name="imaging-upload"),
    path("uploads/<int:upload_id>/", views.upload_detail, name="imaging-upload-detail"),
    path("cases/<int:case_id>/pacs/", views.pacs_find, name="imaging-pacs"),
    path("cases/<int:case_id>/pacs/import/", views.pacs_import, name="imaging-pacs-import"),
    path("series/<int:series_id>/", views.viewer, name="imaging-viewer"),
    path("series/<int:series_id>/slice.png", views.slice_png, name="imaging-slice"),
    path("held/<int:held_id>/preview.png", views.held_preview, name="imaging-held-preview"),
    path("held/<int:held_id>/review/", views.held_review, name="imaging-held-review"),
    path("cases/<int:case_id>/recist/", views.recist_page, name="imaging-recist"),
    path(
        "cases/<int:case_id>/recist/<int:assessment_id>/pacs/",
        views.recist_to_pacs,
        name="imaging-recist-pacs",
    ),
]
