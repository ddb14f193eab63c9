"""Template filters for recruitment statuses."""

from __future__ import annotations

from django import template

from oncology_ui.trials.status import status_is_open, status_label

register = template.Library()


@register.filter
def trial_status(status: str) -> str:
    """``{{ trial.status|trial_status }}``: the status in words."""
    return status_label(status or "")


@register.filter
def trial_open(status: str) -> bool:
    """``{% if m.status|trial_open %}``: whether the trial takes new patients."""
    return status_is_open(status or "")
