from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from oncology_ui.clinical import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<int:case_id>/import/", views.import_upload, name="clinical-import"),
    path(
        "cases/<int:case_id>/expression/import/",
        views.expression_import,
        name="clinical-expression-import",
    ),
    path(
        "templates/expression.csv", views.expression_template, name="clinical-expression-template"
    ),
    path("imports/<int:import_id>/", views.import_detail, name="clinical-import-detail"),
    path("imports/<int:import_id>/report.csv", views.import_report, name="clinical-import-report"),
    path("templates/labs.csv", views.lab_template, name="clinical-lab-template"),
    path("templates/variants.csv", views.variant_template, name="clinical-variant-template"),
    path("cases/<int:case_id>/labs/", views.labs_page, name="clinical-labs"),
    path("cases/<int:case_id>/molecular/", views.molecular_page, name="clinical-molecular"),
    path(
        "cases/<int:case_id>/biomarkers/new/",
        views.biomarker_create,
        name="clinical-biomarker-create",
    ),
    path("cases/<int:case_id>/fhir/", views.fhir_export, name="clinical-fhir-export"),
    path(
        "cases/<int:case_id>/fhir/<int:job_id>/",
        views.fhir_export_download,
        name="clinical-fhir-download",
    ),
]
