"""``{{ job.kind|job_label }}``: a job kind as people read it."""

from __future__ import annotations

from django import template

from oncology_ui.core import jobs

register = template.Library()


@register.filter
def job_label(kind: str) -> str:
    return jobs.job_label(kind)
