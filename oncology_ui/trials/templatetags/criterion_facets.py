"""Template filter for criteria-tagger facets stored as ``[type, start, end, score]`` rows."""

from __future__ import annotations

from typing import Any

from django import template

from oncology_ui.trials.criterion_tags import TaggedCriterion, tagged_from_rows

register = template.Library()


@register.filter
def tagged_criterion(rows: list[list[Any]] | None, text: str) -> TaggedCriterion | None:
    """``{% with tagged=v.tags|tagged_criterion:v.text %}``: segments and facets, or None."""
    return tagged_from_rows(str(text or ""), rows if isinstance(rows, list) else None)
