"""What the recalibration page reads: models that can be recalibrated, jobs and candidates."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from oncology_ui.core.models import Job
from oncology_ui.modelregistry.models import RegisteredModel
from oncology_ui.sitelearn.services import RECALIBRATION_JOB


def recalibratable_models() -> QuerySet[RegisteredModel]:
    """Active rows that are not themselves recalibrations."""
    return RegisteredModel.objects.filter(
        state=RegisteredModel.State.ACTIVE, parent__isnull=True
    ).order_by("name", "-id")


def recalibration_jobs(limit: int = 20) -> QuerySet[Job]:
    return Job.objects.filter(kind=RECALIBRATION_JOB).order_by("-created_at", "-id")[:limit]


def recalibrated_candidates() -> QuerySet[RegisteredModel]:
    """Rows a recalibration produced (any state), newest first."""
    return (
        RegisteredModel.objects.filter(parent__isnull=False, site_report__isnull=False)
        .select_related("parent")
        .order_by("-created_at", "-id")
    )


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The site report as rows of (subgroup, value, active block, candidate block) for a table."""
    models = report.get("models", {})
    active, candidate = models.get("active", {}), models.get("candidate", {})
    rows = [{"group": "all", "value": "", "active": active, "candidate": candidate}]
    for group, values in active.get("subgroups", {}).items():
        for value, block in values.items():
            other = candidate.get("subgroups", {}).get(group, {}).get(value, {})
            rows.append({"group": group, "value": value, "active": block, "candidate": other})
    return rows


def horizon_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Observed against predicted at each horizon, active and candidate side by side."""
    models = report.get("models", {})
    active = {r["months"]: r for r in models.get("active", {}).get("at_months", [])}
    candidate = {r["months"]: r for r in models.get("candidate", {}).get("at_months", [])}
    return [
        {"months": m, "active": active[m], "candidate": candidate.get(m, {})}
        for m in sorted(active)
    ]
