from __future__ import annotations

from django.urls import URLPattern, path

from oncology_ui.pathology import pacs_views, views

urlpatterns: list[URLPattern] = [
    path("cases/<int:case_id>/slides/new/", views.slide_upload, name="pathology-upload"),
    path(
        "cases/<int:case_id>/slides/dicom/", views.slide_upload_dicom, name="pathology-upload-dicom"
    ),
    path("cases/<int:case_id>/slides/pacs/", pacs_views.slide_pacs, name="pathology-pacs"),
    path(
        "cases/<int:case_id>/slides/pacs/import/",
        pacs_views.slide_pacs_import,
        name="pathology-pacs-import",
    ),
    path("cases/<int:case_id>/uploads/", views.upload_sessions, name="pathology-uploads"),
    path("uploads/<int:upload_id>/chunk/", views.upload_chunk, name="pathology-upload-chunk"),
    path("uploads/<int:upload_id>/finish/", views.upload_finish, name="pathology-upload-finish"),
    path("uploads/<int:upload_id>/cancel/", views.upload_cancel, name="pathology-upload-cancel"),
    path("slides/<int:slide_id>/", views.slide_viewer, name="pathology-viewer"),
    path("slides/<int:slide_id>/slide.dzi", views.slide_dzi, name="pathology-dzi"),
    path(
        "slides/<int:slide_id>/slide_files/<int:level>/<int:col>_<int:row>.jpeg",
        views.slide_tile,
        name="pathology-tile",
    ),
    path("slides/<int:slide_id>/thumbnail.png", views.slide_thumbnail, name="pathology-thumbnail"),
    path("slides/<int:slide_id>/tissue.png", views.slide_tissue, name="pathology-tissue"),
    path("slides/<int:slide_id>/heatmap.png", views.slide_heatmap, name="pathology-heatmap"),
    path("slides/<int:slide_id>/remove/", views.slide_retire, name="pathology-retire"),
]
