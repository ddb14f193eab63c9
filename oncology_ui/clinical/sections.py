"""The labs and molecular sections of the case page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from oncology_ui.clinical.expression import measured_hallmarks
from oncology_ui.clinical.selectors import labs_view, molecular_view
from oncology_ui.patients.models import Case


def labs_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    return {
        "labs_view": labs_view(case),
        "can_import_clinical": request.user.has_perm("clinical.add_clinicalimport"),
    }


def molecular_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    return {
        "molecular_view": molecular_view(case),
        "hallmarks": measured_hallmarks(case),
        "can_import_clinical": request.user.has_perm("clinical.add_clinicalimport"),
        "can_add_biomarker": request.user.has_perm("clinical.add_biomarker"),
    }
