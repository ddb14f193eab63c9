"""Admin: the site's cases with outcomes, and the action that exports them de-identified."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from oncology_ui.core.admin import ReadOnlyAdmin
from oncology_ui.patients.models import Case
from oncology_ui.sitelearn.export import training_table_export
from oncology_ui.sitelearn.models import SiteOutcomeCase


@admin.action(
    description="Export as a de-identified training table", permissions=["export_training_table"]
)
def export_training_table(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[SiteOutcomeCase],
) -> HttpResponse | None:
    cases = Case.objects.filter(pk__in=queryset.values("pk"))
    with tempfile.TemporaryDirectory() as folder:
        table = training_table_export(out_dir=Path(folder), request=request, cases=cases)
        if not table.rows:
            modeladmin.message_user(
                request, "None of the selected cases has a recorded outcome.", messages.WARNING
            )
            return None
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(table.path, table.path.name)
            archive.write(table.dictionary, table.dictionary.name)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="site_training_table.zip"'
    return response


@admin.register(SiteOutcomeCase)
class SiteOutcomeCaseAdmin(ReadOnlyAdmin):
    list_display = ("pk", "oncotree_code", "diagnosis_date", "stage_group")
    list_filter = ("oncotree_code",)
    actions = [export_training_table]

    def has_export_training_table_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("sitelearn.export_training_table"))
